//! The `switchyard` binary: run the gateway (default), check a configuration file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchyard::config::{Config, IoBackend};
use switchyard::server::{Server, Signals};

/// Switchyard: MQTT, STOMP and AMQP in one routing core.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML); without it the embedded defaults apply.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// I/O backend, overriding the configuration.
    #[arg(long, value_enum)]
    io_backend: Option<IoBackend>,
    /// Shard count, overriding the configuration (0: one per core).
    #[arg(long)]
    shards: Option<usize>,
    /// More log output (-v: info, -vv: debug, -vvv: trace).
    #[arg(long, short, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Run,
    /// Check a configuration file and exit.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchyard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::CheckConfig { file }) = &cli.command {
        Config::load(file)?;
        println!("{}: ok", file.display());
        return Ok(());
    }
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(backend) = cli.io_backend {
        config.server.io_backend = backend;
    }
    if let Some(shards) = cli.shards {
        config.server.shards = shards;
    }
    let signals = Signals::install()?;
    let server = Server::start(config)?;
    for (kind, addr) in &server.local_addrs {
        tracing::info!("{kind} listening on {addr}");
    }
    signals.wait();
    tracing::info!("shutting down");
    server.shutdown()
}
