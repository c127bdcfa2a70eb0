//! `pxe-pilot-server`: serves the pxe-pilot HTTP API over a TFTP root.
//!
//! Arguments, logging, then the library: [`pxe_pilot_server::open`] loads the
//! configuration and binds, [`pxe_pilot_server::run`] serves until SIGINT or SIGTERM.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pxe_pilot_server::{
    bind, listen_address, open, reload_on_hangup, run, shutdown_signal, AppState, Demo, StartError,
    Tftp,
};
use tracing_subscriber::EnvFilter;

/// The allocator: jemalloc, built with options (`.cargo/config.toml`) that give freed memory
/// back to the system within a second. glibc's malloc kept what a parse or a burst of requests had
/// freed (its per-thread arenas, its heap's holes): 31 MB after the load bench, 16 MB with this.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The log filter when `RUST_LOG` is unset: info, without actix's start-up chatter.
const DEFAULT_LOG_FILTER: &str = "info,actix_server=warn";

/// Serves the pxe-pilot HTTP API: which PXE boot configuration each host gets.
#[derive(Debug, Parser)]
#[command(
    name = "pxe-pilot-server",
    version,
    after_help = "Examples:\n  pxe-pilot-server -c /etc/pxe-pilot/pxe-pilot.yml\n  pxe-pilot-server --check -c /etc/pxe-pilot/pxe-pilot.yml\n  pxe-pilot-server --seed-etcd -c /etc/pxe-pilot/pxe-pilot.yml\n  pxe-pilot-server --demo\n  RUST_LOG=debug pxe-pilot-server --listen 127.0.0.1:0\n\nOn start it prints one line on stdout: `pxe-pilot-server listening on http://IP:PORT`, and a second one,\n`pxe-pilot-server serving TFTP on IP:PORT`, when it serves TFTP (tftp.serve).\nLogs go to stderr (RUST_LOG sets the level). SIGINT or SIGTERM: finish requests, exit 0. SIGHUP: read the configuration file again\n(an invalid one is logged and the previous one stays)."
)]
struct Args {
    /// The configuration file.
    #[arg(
        short,
        long,
        value_name = "FILE",
        default_value = pxe_pilot_core::DEFAULT_PATH
    )]
    config: PathBuf,

    /// Listen on ADDR:PORT instead of server.listen and server.port (port 0: any free port).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,

    /// Serve TFTP on ADDR:PORT instead of tftp.serve's address (port 0: any free port). The
    /// configuration file must set tftp.serve.
    #[arg(long, value_name = "ADDR:PORT")]
    tftp: Option<SocketAddr>,

    /// Build a demo TFTP root and configuration in DIR (default: a temporary folder) and
    /// serve it on 127.0.0.1:3478 (HTTP) and 127.0.0.1:6969 (TFTP).
    #[arg(long, value_name = "DIR", num_args = 0..=1, conflicts_with = "config")]
    demo: Option<Option<PathBuf>>,

    /// Check the configuration file and exit: 0 when it is valid, 1 with the one-line error
    /// (as `nginx -t`; the systemd unit runs it before a reload).
    #[arg(long, conflicts_with_all = ["demo", "listen", "tftp"])]
    check: bool,

    /// Seed the empty etcd prefix of the file's store.etcd from its TFTP root's links and
    /// state_dir (each host's configuration, pending once, last boot), then exit: one server
    /// becoming several. Stop the server first; a prefix that holds any key is refused.
    #[arg(long, conflicts_with_all = ["demo", "listen", "tftp", "check"])]
    seed_etcd: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.check {
        return check(&args.config);
    }
    if args.seed_etcd {
        return seed_etcd(&args.config);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .init();
    match actix_web::rt::System::new().block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pxe-pilot-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `n` things, in words: `1 host`, `2 hosts`.
fn counted(n: usize, thing: &str) -> String {
    match n {
        1 => format!("1 {thing}"),
        n => format!("{n} {thing}s"),
    }
}

/// `--check`: the configuration file's verdict, one line.
fn check(path: &std::path::Path) -> ExitCode {
    match pxe_pilot_core::Settings::load(path) {
        Ok((settings, warnings)) => {
            for warning in &warnings {
                eprintln!("pxe-pilot-server: warning: {warning}");
            }
            println!(
                "pxe-pilot-server: {} is valid ({}, {})",
                path.display(),
                counted(settings.inventory.hosts().len(), "host"),
                counted(warnings.len(), "warning")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pxe-pilot-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--seed-etcd`: what was written, one line, or the error.
fn seed_etcd(path: &std::path::Path) -> ExitCode {
    let settings = match pxe_pilot_core::Settings::load(path) {
        Ok((settings, _)) => settings,
        Err(e) => {
            eprintln!("pxe-pilot-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match pxe_pilot_core::seed_etcd(&settings) {
        Ok(seeded) => {
            for (host, what) in &seeded.skipped {
                eprintln!("pxe-pilot-server: warning: {host} left out: its entry leads to {what}, no configuration of the catalogue");
            }
            let (endpoints, prefix) = match &settings.store {
                pxe_pilot_core::StoreKind::Etcd(etcd) => {
                    (etcd.endpoints.join(", "), etcd.prefix.clone())
                }
                _ => (String::new(), String::new()),
            };
            println!(
                "pxe-pilot-server: seeded {prefix} on {endpoints} from {}: {} deployed, {} pending once, {} last boots",
                settings.paths.tftp_root.display(),
                counted(seeded.deployed, "host"),
                seeded.once,
                seeded.last_boots
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pxe-pilot-server: cannot seed etcd: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), StartError> {
    let demo = match &args.demo {
        Some(dir) => Some(Demo::create(dir.as_deref()).map_err(StartError::Demo)?),
        None => None,
    };
    let config = demo.as_ref().map_or(args.config, |d| d.config.clone());
    let pilot = open(&config)?;
    let state = AppState::open(pilot);
    if let Some(demo) = &demo {
        demo.seed(&state.service()).map_err(StartError::Demo)?;
    }
    let settings = state.service().pilot().shared_settings();
    let addr = listen_address(&settings.server, args.listen);
    let listener = bind(addr)?;
    let addr = listener.local_addr()?;
    let tftp = Tftp::bind(&state, args.tftp)?;
    // Installed before the announcement, so a SIGTERM right after it still stops us cleanly.
    let shutdown = shutdown_signal()?;
    if settings.server.token.is_none() {
        tracing::warn!("no server.token in the configuration file: anyone who reaches {addr} can change what hosts boot");
    }
    tracing::info!(
        config = %config.display(),
        hosts = settings.inventory.hosts().len(),
        store = match &settings.store {
            pxe_pilot_core::StoreKind::Files => "files".to_owned(),
            pxe_pilot_core::StoreKind::Memory => "memory".to_owned(),
            pxe_pilot_core::StoreKind::Etcd(etcd) =>
                format!("etcd {} {}", etcd.endpoints.join(","), etcd.prefix),
        },
        site = %settings.site,
        "pxe-pilot-server listening on http://{addr}"
    );
    // The lines on stdout, for scripts and tests that start the server on port 0: written at
    // once, so a reader that closes the pipe after the first line cannot make the second
    // fail, and a server whose stdout is gone goes on serving.
    let mut announce = format!("pxe-pilot-server listening on http://{addr}\n");
    if let Some(tftp) = &tftp {
        announce.push_str(&format!(
            "pxe-pilot-server serving TFTP on {}\n",
            tftp.local_addr()
        ));
        tracing::info!("serving the TFTP root over TFTP on {}", tftp.local_addr());
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(announce.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!("cannot write the address on stdout: {e}");
    }
    drop(stdout);
    if let Some(demo) = &demo {
        let tftp_addr = tftp.as_ref().map(|t| t.local_addr());
        eprintln!("{}", demo.guide(addr, tftp_addr));
    }
    if let Some(tftp) = tftp {
        tftp.spawn()?;
    }
    actix_web::rt::spawn(reload_on_hangup(state.clone(), config.clone())?);
    run(listener, state, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(counted(1, "host"), "1 host");
        assert_eq!(counted(0, "warning"), "0 warnings");
        assert_eq!(counted(10_000, "host"), "10000 hosts");
    }
}
