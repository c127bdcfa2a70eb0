//! What each command does: one or two API calls, then a table or the server's JSON.

use std::io::{self, Write};
use std::time::Duration;

use pxe_pilot_core::api::{
    DeployRequest, DeployResponse, HostQuery, NetbootView, Rebooted, VersionView,
};
use pxe_pilot_core::{MacAddress, PowerAction};

use crate::args::{
    BootloaderCommand, Cli, Command, ConfigCommand, DeployArgs, HostCommand, Output,
};
use crate::client::{Answer, Client, ClientOptions, RetryPolicy};
use crate::local_macs;
use crate::table;
use crate::Error;

/// Runs the command `cli` describes, printing its result on `out`.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<(), Error> {
    // What needs no server (and no usable server URL).
    match &cli.command {
        Command::Completions { shell } => {
            let mut text = Vec::new();
            crate::docs::completions(*shell, &mut text);
            return write_all(out, &String::from_utf8_lossy(&text));
        }
        Command::Man => {
            let mut text = Vec::new();
            crate::docs::man_page(&mut text).map_err(Error::Output)?;
            return write_all(out, &String::from_utf8_lossy(&text));
        }
        _ => {}
    }
    let token = match &cli.token_file {
        Some(file) => Some(read_token(file)?),
        None => cli.token.clone(),
    };
    let client = Client::new(
        &cli.server,
        ClientOptions {
            token,
            retry: Some(RetryPolicy {
                retry_for: Duration::from_secs(cli.retry_for),
            }),
            debug: cli.debug,
        },
    )?;
    let printer = Printer {
        format: cli.output,
        out,
    };
    match &cli.command {
        Command::Bootloader {
            command: BootloaderCommand::List,
        } => printer.answer(&client.bootloaders()?, |v| table::bootloaders(v)),
        Command::Config { command } => match command {
            ConfigCommand::List => {
                printer.answer(&client.configurations()?, |v| table::configurations(v))
            }
            ConfigCommand::Show { name } => {
                let answer = client.configuration(name)?;
                if let Some(warning) = &answer.value.warning {
                    eprintln!("pxe-pilot: warning: {warning}");
                }
                printer.answer(&answer, |c| with_newline(&c.content))
            }
            ConfigCommand::Deploy(args) => {
                let answer = if args.self_host {
                    deploy_self(&client, args, cli)?
                } else {
                    client.deploy(&args.config, &deploy_request(args))?
                };
                warn_failed_reboots(&answer.value);
                printer.answer(&answer, table::deployed)?;
                match &answer.value.message {
                    // A 207: some hosts were not switched; the table says which.
                    Some(message) => Err(Error::Partial {
                        message: message.clone(),
                    }),
                    None => Ok(()),
                }
            }
        },
        Command::Host { command } => match command {
            HostCommand::List => printer.answer(&client.hosts()?, |v| table::hosts(v)),
            HostCommand::Reboot { name } => power(&client, printer, name, PowerAction::Reboot),
            HostCommand::On { name } => power(&client, printer, name, PowerAction::On),
            HostCommand::Off { name } => power(&client, printer, name, PowerAction::Off),
            HostCommand::Refresh => {
                client.refresh()?;
                printer.empty(table::refreshed())
            }
            HostCommand::Events { name, limit } => {
                printer.answer(&client.host_events(name, *limit)?, |v| table::events(v))
            }
            HostCommand::Unknown => {
                printer.answer(&client.unknown_machines()?, |v| table::unknown_machines(v))
            }
        },
        Command::Version => version(&client, printer),
        Command::Completions { .. } | Command::Man => Ok(()),
    }
}

/// `version`: this client's version, then the server's (`GET /v1/version`). The client's is
/// printed first, so it shows even when the server cannot be reached.
fn version(client: &Client, printer: Printer<'_>) -> Result<(), Error> {
    let ours = VersionView::current();
    match printer.format {
        Output::Table => {
            write_all(
                printer.out,
                &format!("client: {} {}\n", ours.name, ours.version),
            )?;
            let server = client.version()?;
            write_all(
                printer.out,
                &format!(
                    "server: {} {} ({})\n",
                    server.value.name,
                    server.value.version,
                    client.base()
                ),
            )
        }
        Output::Json => {
            let server = client.version()?;
            let json = serde_json::json!({ "client": ours, "server": server.value });
            let mut text = pretty_json(&json.to_string())?;
            text.push('\n');
            write_all(printer.out, &text)
        }
    }
}

fn power(
    client: &Client,
    printer: Printer<'_>,
    name: &str,
    action: PowerAction,
) -> Result<(), Error> {
    client.power(name, action)?;
    printer.empty(table::powered(name, action))
}

/// A reboot asked with `--now` that failed leaves the deploy in place (the table says
/// `ERROR`, the exit status stays 0 as in the original): say it on stderr too.
fn warn_failed_reboots(answer: &DeployResponse) {
    for host in &answer.hosts {
        if host.rebooted == Rebooted::Error {
            eprintln!(
                "pxe-pilot: host {} now boots {}, but its reboot failed (see the server's log)",
                host.name, host.configuration
            );
        }
        if host.netboot == Some(NetbootView::Error) {
            eprintln!(
                "pxe-pilot: host {}: its BMC refused to make the next boot a network boot (see the server's log)",
                host.name
            );
        }
    }
}

/// The deploy request for hosts named on the command line: a word with colons that reads as
/// a MAC address names the host that owns it, anything else is a host name.
pub fn deploy_request(args: &DeployArgs) -> DeployRequest {
    DeployRequest {
        hosts: args
            .hosts
            .iter()
            .map(|h| {
                let by_mac = h.contains(':') && MacAddress::parse(h).is_ok();
                HostQuery {
                    name: (!by_mac).then(|| h.clone()),
                    mac_address: by_mac.then(|| h.clone()),
                    reboot: args.now,
                    once: args.once,
                }
            })
            .collect(),
    }
}

/// `config deploy CONFIG --self`: asks the server, MAC by MAC, which host owns one of this
/// machine's addresses, then deploys to that host by that MAC address.
fn deploy_self(
    client: &Client,
    args: &DeployArgs,
    cli: &Cli,
) -> Result<Answer<DeployResponse>, Error> {
    let interfaces = local_macs::interfaces(&cli.sysfs_net)?;
    for interface in &interfaces {
        if let Some(host) = client.host_by_mac(&interface.mac)? {
            if cli.debug {
                eprintln!(
                    "pxe-pilot: this machine is host {:?} ({} {})",
                    host.name, interface.name, interface.mac
                );
            }
            let request = DeployRequest {
                hosts: vec![HostQuery {
                    name: None,
                    mac_address: Some(interface.mac.to_string()),
                    reboot: args.now,
                    once: args.once,
                }],
            };
            return Ok(client.deploy(&args.config, &request)?);
        }
    }
    Err(Error::NotAHost {
        server: client.base().to_string(),
        macs: interfaces
            .iter()
            .map(|i| format!("{} {}", i.name, i.mac))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The token in `file`: its first line, which must not be empty.
fn read_token(file: &std::path::Path) -> Result<String, Error> {
    let bad = |reason: String| Error::TokenFile {
        file: file.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(bad("its first line is empty: write the token there".into()));
    }
    Ok(token.to_owned())
}

fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// Prints answers as tables or as the server's JSON.
struct Printer<'a> {
    format: Output,
    out: &'a mut dyn Write,
}

impl Printer<'_> {
    /// Prints an answer: its table, or its JSON pretty-printed in the server's field order.
    fn answer<T>(self, answer: &Answer<T>, table: impl FnOnce(&T) -> String) -> Result<(), Error> {
        match self.format {
            Output::Table => write_all(self.out, &table(&answer.value)),
            Output::Json => {
                let mut text = pretty_json(&answer.json)?;
                text.push('\n');
                write_all(self.out, &text)
            }
        }
    }

    /// Prints the table of an answer without a body; nothing as JSON.
    fn empty(self, table: String) -> Result<(), Error> {
        match self.format {
            Output::Table => write_all(self.out, &table),
            Output::Json => Ok(()),
        }
    }
}

/// `json` re-indented, its fields in their order (no map in between that would sort them).
pub fn pretty_json(json: &str) -> Result<String, Error> {
    let mut text = Vec::new();
    let mut reader = serde_json::Deserializer::from_str(json);
    let mut writer = serde_json::Serializer::pretty(&mut text);
    serde_transcode::transcode(&mut reader, &mut writer)
        .and_then(|()| reader.end())
        .map_err(|e| Error::Output(io::Error::other(e)))?;
    String::from_utf8(text).map_err(|e| Error::Output(io::Error::other(e)))
}

fn write_all(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A reader that went away (`| head`) is not a failure of the command.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_the_servers_field_order() {
        assert_eq!(
            pretty_json(r#"{"name":"h1","macAddresses":["a"],"configuration":null}"#).unwrap(),
            "{\n  \"name\": \"h1\",\n  \"macAddresses\": [\n    \"a\"\n  ],\n  \"configuration\": null\n}"
        );
        assert!(pretty_json("{} x").is_err());
    }

    #[test]
    fn hosts_are_named_by_name_or_by_mac() {
        let args = DeployArgs {
            now: true,
            once: false,
            config: "local".into(),
            hosts: vec!["h1".into(), "AA:BB:CC:DD:EE:FF".into(), "cafe".into()],
            self_host: false,
        };
        let request = deploy_request(&args);
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"hosts":[{"name":"h1","reboot":true},{"macAddress":"AA:BB:CC:DD:EE:FF","reboot":true},{"name":"cafe","reboot":true}]}"#
        );
    }

    #[test]
    fn shown_files_end_with_one_newline() {
        assert_eq!(with_newline("a\nb"), "a\nb\n");
        assert_eq!(with_newline("a\n"), "a\n");
        assert_eq!(with_newline(""), "");
    }
}
