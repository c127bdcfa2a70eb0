//! The command line: the original PXE Pilot's commands and flags, parsed by clap.
//!
//! Scripts written for the original keep working: `-s/--server`, `-d/--debug`, `bootloader
//! list`, `config list|show|deploy [-n|--now]`, `host list|reboot|on|off|refresh`. What is new
//! (`-o json`, `--token`, `--retry-for`, `config deploy --self`) is additive. The global options
//! may come before or after the command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Everything `pxe-pilot` is told on its command line and in its environment.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "pxe-pilot",
    version,
    about = "Choose which PXE boot configuration each host gets, through a pxe-pilot server",
    long_about = "Choose which PXE boot configuration each host gets, through a pxe-pilot server.\n\n\
        Exit status: 0 done; 1 the server refused the request (unknown host or configuration, \
        conflict, bad token...) or it cannot be made; 2 the server could not be reached, or \
        kept failing, until --retry-for ran out; 64 wrong usage.",
    after_help = "Examples:\n  \
        pxe-pilot host list\n  \
        pxe-pilot config deploy ubuntu-16.04 h1 h2 --now\n  \
        pxe-pilot -s http://pxe:3478 config deploy local --self    (an installer's last step)"
)]
pub struct Cli {
    /// URL of the pxe-pilot server ("http://" is assumed when no scheme is given).
    #[arg(
        short,
        long,
        global = true,
        env = "PXE_PILOT_SERVER",
        default_value = "http://localhost:3478",
        value_name = "URL"
    )]
    pub server: String,

    /// How to print the answer: `table` for people, `json` (the server's JSON, pretty) for scripts.
    #[arg(
        short,
        long,
        global = true,
        value_enum,
        default_value_t = Output::Table,
        value_name = "FORMAT"
    )]
    pub output: Output,

    /// Token the server asks for (`server.token`), sent as `Authorization: Bearer TOKEN`.
    /// Prefer PXE_PILOT_TOKEN or --token-file: a command line is visible to every local user.
    #[arg(
        long,
        global = true,
        env = "PXE_PILOT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,

    /// A file whose first line is the token (the Debian package's /etc/pxe-pilot/token).
    #[arg(
        long,
        global = true,
        env = "PXE_PILOT_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with = "token"
    )]
    pub token_file: Option<std::path::PathBuf>,

    /// Keep retrying reads and deploys this long while the server cannot be reached or fails
    /// (5xx); 0 tries once. Power commands are never retried, nor a refused (4xx) request.
    #[arg(
        long,
        global = true,
        env = "PXE_PILOT_RETRY_FOR",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub retry_for: u64,

    /// Print each request and its answer's status on stderr.
    #[arg(short, long, global = true)]
    pub debug: bool,

    /// Folder whose `*/address` files give this machine's MAC addresses for `--self` (a
    /// testing aid; the environment variable is the documented way to set it).
    #[arg(
        long,
        hide = true,
        env = "PXE_PILOT_SYSFS_NET",
        default_value = "/sys/class/net",
        value_name = "DIR"
    )]
    pub sysfs_net: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// ASCII tables, as the original PXE Pilot prints them.
    Table,
    /// The server's JSON answer, pretty-printed (nothing for answers without a body).
    Json,
}

/// The command groups, as in the original.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Bootloaders the server knows (`bootloaders:` of its configuration file).
    Bootloader {
        /// What to do with bootloaders.
        #[command(subcommand)]
        command: BootloaderCommand,
    },
    /// PXE configurations: list the catalogue, show one, deploy one to hosts.
    Config {
        /// What to do with configurations.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Hosts: list them with what they boot, power them, refresh their BMC addresses.
    Host {
        /// What to do with hosts.
        #[command(subcommand)]
        command: HostCommand,
    },
    /// Show the versions of this client and of the server.
    Version,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(hide = true)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout: `pxe-pilot man | man -l -`.
    #[command(hide = true)]
    Man,
}

/// `pxe-pilot bootloader ...`
#[derive(Debug, Clone, Subcommand)]
pub enum BootloaderCommand {
    /// List the bootloaders: name, file DHCP hands out, where it reads its configuration.
    List,
}

/// `pxe-pilot config ...`
#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// List the configurations of the catalogue and their bootloader.
    List,
    /// Print a configuration file as the hosts will read it.
    Show {
        /// The configuration's name (as `config list` shows it).
        name: String,
    },
    /// Make hosts boot a configuration from their next PXE boot on.
    Deploy(DeployArgs),
}

/// `pxe-pilot config deploy [-n] CONFIG HOST... | --self`
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// Reboot (or power on) the hosts once their configuration is switched; where the BMC
    /// can, their next boot is made a network boot, once, first.
    #[arg(short = 'n', long)]
    pub now: bool,

    /// Boot the configuration once: after the host's first fetch of it, the server switches
    /// it back to its fallback (`local`). For configurations served over HTTP, and PXELINUX
    /// or GRUB ones when the server serves TFTP itself (tftp.serve).
    #[arg(long)]
    pub once: bool,

    /// The configuration to deploy (as `config list` shows it).
    #[arg(value_name = "CONFIG")]
    pub config: String,

    /// The hosts: names, or MAC addresses written with colons (aa:bb:cc:dd:ee:ff).
    #[arg(
        value_name = "HOST",
        required_unless_present = "self_host",
        conflicts_with = "self_host"
    )]
    pub hosts: Vec<String>,

    /// Deploy to the machine this command runs on: the host that owns one of its MAC
    /// addresses (read from /sys/class/net). For an installer's last step.
    #[arg(long = "self", id = "self_host")]
    pub self_host: bool,
}

/// `pxe-pilot host ...`
#[derive(Debug, Clone, Subcommand)]
pub enum HostCommand {
    /// List the hosts: configuration, MAC addresses, BMC address, power state.
    List,
    /// Reboot a host (power it on if it is off).
    Reboot {
        /// The host's name.
        name: String,
    },
    /// Power a host on.
    On {
        /// The host's name.
        name: String,
    },
    /// Power a host off.
    Off {
        /// The host's name.
        name: String,
    },
    /// Scan the management subnets so that BMC addresses are found in the ARP table.
    Refresh,
    /// What happened to a host (deploys, power, boots...), newest first.
    Events {
        /// The host's name.
        name: String,
        /// How many events at most.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: usize,
    },
    /// The machines seen booting whose MAC address no host has, last seen first.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pxe-pilot").chain(args.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_originals_command_lines_parse() {
        let cli = parse(&[
            "-s",
            "http://pxe:3478",
            "config",
            "deploy",
            "-n",
            "local",
            "h1",
            "h2",
        ])
        .unwrap();
        assert_eq!(cli.server, "http://pxe:3478");
        let Command::Config {
            command: ConfigCommand::Deploy(deploy),
        } = cli.command
        else {
            panic!("not a deploy");
        };
        assert!(deploy.now && !deploy.self_host);
        assert_eq!(deploy.config, "local");
        assert_eq!(deploy.hosts, ["h1", "h2"]);

        let cli = parse(&[
            "--server",
            "http://x:1",
            "config",
            "deploy",
            "--now",
            "c",
            "h",
        ])
        .unwrap();
        assert_eq!(cli.server, "http://x:1");
        for args in [
            &["bootloader", "list"][..],
            &["config", "list"],
            &["config", "show", "local"],
            &["host", "list"],
            &["host", "reboot", "h1"],
            &["host", "on", "h1"],
            &["host", "off", "h1"],
            &["host", "refresh"],
            &["-d", "host", "list"],
            &["version"],
            &["completions", "bash"],
            &["man"],
        ] {
            assert!(parse(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn global_options_go_after_the_command_too() {
        let cli = parse(&[
            "host",
            "list",
            "-o",
            "json",
            "--retry-for",
            "5",
            "-s",
            "h:1",
        ])
        .unwrap();
        assert_eq!(cli.output, Output::Json);
        assert_eq!(cli.retry_for, 5);
        assert_eq!(cli.server, "h:1");
    }

    #[test]
    fn deploy_needs_hosts_or_self_but_not_both() {
        assert!(parse(&["config", "deploy", "local"]).is_err());
        assert!(parse(&["config", "deploy", "local", "h1", "--self"]).is_err());
        let cli = parse(&["config", "deploy", "local", "--self"]).unwrap();
        let Command::Config {
            command: ConfigCommand::Deploy(deploy),
        } = cli.command
        else {
            panic!("not a deploy");
        };
        assert!(deploy.self_host && deploy.hosts.is_empty());
    }
}
