//! `switchyard-load`: a load generator for MQTT and STOMP brokers, built on Switchyard's
//! own codecs.
//!
//! It runs publisher/subscriber pairs (a topic per pair) or a fan-out (one publisher, M
//! subscribers on one topic) at QoS 0 or 1 over MQTT 3.1.1 or 5, closed loop (as fast as
//! the broker takes messages, QoS 1 with a window of unacknowledged messages) or open loop
//! (a paced rate per publisher), and reports delivered and published messages per second,
//! end-to-end latency percentiles from a timestamp in each payload, and losses, as a table
//! and as JSON. With `--protocol stomp` the same over STOMP 1.2: SEND to a `/queue/` or
//! `/topic/` destination per pair, subscribers with `ack:auto` or `client-individual`,
//! and publisher receipts as the window that QoS 1 gives MQTT. With `--protocol amqp`
//! the same over AMQP 0-9-1: a queue per pair declared by its subscriber, publishes
//! through the default exchange, consumers with manual acks (basic.qos prefetch, one
//! ack `multiple` per batch) or `no-ack`, publisher confirms as the window, durable queues
//! with persistent messages if asked, and in closed loop a bound on each pair's backlog. One thread per client over blocking sockets: for
//! tens to a few hundred clients, not thousands.
//!
//! `--sub-threads N` puts the MQTT subscribers on N threads that wait with epoll, for
//! fan-outs to a thousand subscribers; `--backlog` bounds, in closed loop, how far an
//! MQTT publisher may run ahead of its slowest subscriber (a QoS 0 fan-out otherwise
//! measures how much the broker buffers and drops).
//!
//! `--fanin N` runs N publishers (a topic each) into one subscriber on a wildcard.
//! `--idle N` opens N idle MQTT connections from several loopback source addresses and
//! reads the broker's memory per connection (`--broker-pid`); `--connect-rate C` runs C
//! clients connecting and disconnecting in a loop (`conns.rs`). `--svg FILE` draws the
//! run: throughput per second and latency by percentile (`svg.rs`). A progress bar on
//! stderr when it is a terminal, a line per second otherwise.
//!
//! What it does not do yet (issue 7): QoS 2, AMQP fan-out.

mod amqp;
mod amqp_clients;
mod amqp_publisher;
mod conn;
mod conns;
mod mux;
mod publisher;
mod report;
mod run;
mod stomp;
mod stomp_clients;
mod subscriber;
mod svg;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use switchyard_mqtt::{Protocol, QoS};
use switchyard_stomp::AckMode;

use crate::amqp::AmqpOptions;
use crate::run::{Config, Topology};
use crate::stomp::{DestinationKind, StompOptions};

/// Load generator for MQTT, STOMP and AMQP 0-9-1 brokers: throughput, end-to-end latency
/// and losses.
#[derive(Debug, Parser)]
#[command(name = "switchyard-load", version)]
struct Args {
    /// Broker host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Broker port [default: 1883 for MQTT, 61613 for STOMP, 5672 for AMQP].
    #[arg(long)]
    port: Option<u16>,
    /// The protocol the clients speak.
    #[arg(long, value_enum, default_value_t = Wire::Mqtt)]
    protocol: Wire,
    /// Publisher/subscriber pairs, topic `load/{run}/{i}` per pair (`{run}` is unique per
    /// run); STOMP: destination `/queue/load-{run}-{i}` or `/topic/load.{run}.{i}`;
    /// AMQP: queue `load-{run}-{i}`.
    #[arg(long, default_value_t = 16)]
    pairs: usize,
    /// Instead of pairs: one publisher and M subscribers on topic `load/{run}/0` (STOMP:
    /// `/topic/` destinations only).
    #[arg(long, value_name = "M", conflicts_with = "pairs")]
    fanout: Option<usize>,
    /// MQTT, instead of pairs: N publishers, topic `load/{run}/{i}` each, and one
    /// subscriber on `load/{run}/+`. With `--backlog B` each publisher stays at most B
    /// messages ahead of its share (1/N) of what the subscriber received.
    #[arg(long, value_name = "N", conflicts_with_all = ["pairs", "fanout"])]
    fanin: Option<usize>,
    /// MQTT, instead of a message run: open N idle connections (CONNECT/CONNACK only),
    /// read the broker's RSS (`--broker-pid`) before and `--settle` seconds after, and
    /// report the bytes per connection.
    #[arg(long, value_name = "N", conflicts_with_all = ["fanout", "fanin", "connect_rate"])]
    idle: Option<usize>,
    /// MQTT, instead of a message run: C clients connect (CONNECT/CONNACK) and
    /// disconnect in a loop for the warm-up and `--duration`; reports handshakes per
    /// second and the connect() to CONNACK latency.
    #[arg(long, value_name = "C", conflicts_with_all = ["fanout", "fanin"])]
    connect_rate: Option<usize>,
    /// `--idle`, `--connect-rate`: bind the connections to K loopback source addresses,
    /// 127.0.0.2 ..= 127.0.0.(K+1), in turn (0: the kernel's choice). One source address
    /// has about 28,000 ephemeral ports.
    #[arg(long, value_name = "K", default_value_t = 8)]
    sources: u8,
    /// `--idle`: threads opening the connections.
    #[arg(long, value_name = "T", default_value_t = 4)]
    conn_threads: usize,
    /// `--idle`: the broker's process id, whose VmRSS is read before and after.
    #[arg(long, value_name = "PID")]
    broker_pid: Option<u32>,
    /// `--idle`: most seconds to open the connections; a broker that stops accepting
    /// (RabbitMQ's file descriptor alarm) is measured with what it holds by then.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    idle_deadline: f64,
    /// `--idle`: seconds between the last connection and the memory reading.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    settle: f64,
    /// MQTT: the subscribers share N reader threads, each waiting on its share of the
    /// connections with epoll, instead of a thread each (0, the default). For fan-outs to
    /// hundreds of subscribers, where a thread each would wake every thread per message.
    #[arg(long, default_value_t = 0, value_name = "N")]
    sub_threads: usize,
    /// Payload size in bytes (at least 16: send timestamp and sequence number).
    #[arg(long, default_value_t = 64, value_name = "BYTES")]
    payload: usize,
    /// MQTT: QoS of publications and subscriptions.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    qos: u8,
    /// MQTT: the protocol version.
    #[arg(long, value_enum, default_value_t = Version::V311)]
    mqtt: Version,
    /// Open loop: messages per second per publisher. Without it, closed loop (max rate).
    #[arg(long, value_name = "MSGS_PER_S")]
    rate: Option<f64>,
    /// Most unacknowledged QoS 1 PUBLISH packets per publisher (capped by the broker's
    /// Receive Maximum in MQTT 5), SEND frames without RECEIPT (STOMP `--receipts`), or
    /// unconfirmed publishes (AMQP `--confirms`).
    #[arg(long, default_value_t = 64)]
    inflight: u64,
    /// STOMP: `/queue/` or `/topic/` destinations [default: queue].
    #[arg(long, value_enum)]
    destination_kind: Option<DestinationArg>,
    /// STOMP: the subscribers' ack mode; `client-individual` ACKs each MESSAGE
    /// [default: auto].
    #[arg(long, value_enum)]
    ack: Option<AckArg>,
    /// STOMP: `prefetch-count` header of SUBSCRIBE (none by default: the broker's
    /// default). AMQP: basic.qos prefetch-count of consumers with manual acks, 0 for no
    /// limit [default: 1000].
    #[arg(long, value_name = "N")]
    prefetch: Option<u32>,
    /// STOMP: publishers ask for a RECEIPT of each SEND and keep at most `--inflight`
    /// without one; losses then fail the run, as at MQTT QoS 1.
    #[arg(long)]
    receipts: bool,
    /// AMQP: publishers put their channel in confirm mode (confirm.select) and keep at
    /// most `--inflight` publishes unconfirmed; losses then fail the run.
    #[arg(long)]
    confirms: bool,
    /// AMQP: consumers take deliveries without acknowledgements (basic.consume no-ack).
    #[arg(long)]
    no_ack: bool,
    /// AMQP: durable queues (durable, not auto-delete; deleted when the run ends) and
    /// persistent messages (delivery-mode 2), instead of non-durable auto-delete queues
    /// and transient messages.
    #[arg(long)]
    durable: bool,
    /// AMQP: consumers with manual acks send one basic.ack `multiple` per N deliveries
    /// (at most the prefetch) [default: 100, at most half the prefetch].
    #[arg(long, value_name = "N")]
    ack_every: Option<u16>,
    /// Closed loop: most messages a publisher may have published and not yet delivered
    /// to each of its subscribers (the slowest counts), so that queues stay bounded;
    /// 0 for no bound but TCP's and the broker's. MQTT [default: 0]: at QoS 0 a fan-out
    /// otherwise measures how much a broker buffers and drops. AMQP [default: 1000].
    #[arg(long, value_name = "N")]
    backlog: Option<u64>,
    /// STOMP: CONNECT's login. AMQP: the PLAIN user name.
    #[arg(long, default_value = "guest")]
    login: String,
    /// STOMP: CONNECT's passcode. AMQP: the PLAIN password.
    #[arg(long, default_value = "guest")]
    passcode: String,
    /// STOMP: CONNECT's `host` header. AMQP: connection.open's virtual host.
    #[arg(long, default_value = "/")]
    vhost: String,
    /// Seconds of warm-up before the measurement.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    warmup: f64,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    duration: f64,
    /// Most seconds to wait after publishing for outstanding messages and PUBACKs.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    drain: f64,
    /// MQTT: keep-alive asked for in CONNECT (seconds; 0 = none).
    #[arg(long, default_value_t = 0)]
    keep_alive: u16,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
    /// Also draw the run as SVG to this file: published and delivered messages per
    /// second, and the latency by percentile.
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    /// A name for the broker under test, carried into the output.
    #[arg(long, default_value = "")]
    label: String,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// The protocols the generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Wire {
    /// MQTT 3.1.1 or 5 (`--mqtt`).
    Mqtt,
    /// STOMP 1.2.
    Stomp,
    /// AMQP 0-9-1.
    Amqp,
}

/// STOMP destination kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DestinationArg {
    /// `/queue/load-{run}-{i}`.
    Queue,
    /// `/topic/load.{run}.{i}`.
    Topic,
}

/// STOMP subscription ack modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AckArg {
    /// No ACK frames.
    Auto,
    /// An ACK per MESSAGE.
    ClientIndividual,
}

/// The MQTT versions the generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Version {
    /// MQTT 3.1.1.
    #[value(name = "3.1.1", alias = "311", alias = "4")]
    V311,
    /// MQTT 5.0.
    #[value(name = "5", alias = "5.0")]
    V5,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.idle.is_some() || args.connect_rate.is_some() {
        return connection_scenario(&args);
    }
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchyard-load: {e}");
            return ExitCode::from(64);
        }
    };
    let outcome = match run::run(&config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("switchyard-load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let summary = report::Summary::new(&config, &args.label, &outcome);
    print!("{}", summary.table());
    if !write_outputs(&args, &summary.json(), Some(&summary.svg())) {
        return ExitCode::FAILURE;
    }
    if !outcome.failures.is_empty() {
        ExitCode::FAILURE
    } else if config.qos != QoS::AtMostOnce && (outcome.lost > 0 || outcome.extra > 0) {
        // Lost or duplicated at QoS 1, with STOMP receipts or AMQP confirms: a broker bug
        // (no reconnects happen here).
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes the JSON and SVG files asked for; false (after a message) if one failed.
fn write_outputs(args: &Args, json: &str, svg: Option<&str>) -> bool {
    let files = [(args.json.as_ref(), Some(json)), (args.svg.as_ref(), svg)];
    for (path, content) in files {
        if let (Some(path), Some(content)) = (path, content)
            && let Err(e) = std::fs::write(path, content)
        {
            eprintln!("switchyard-load: writing {}: {e}", path.display());
            return false;
        }
    }
    true
}

/// `--idle` and `--connect-rate`.
fn connection_scenario(args: &Args) -> ExitCode {
    if args.protocol != Wire::Mqtt {
        eprintln!("switchyard-load: --idle and --connect-rate are done for MQTT only");
        return ExitCode::from(64);
    }
    let port = args.port.unwrap_or(1883);
    let Ok(Some(addr)) = (args.host.as_str(), port)
        .to_socket_addrs()
        .map(|mut a| a.next())
    else {
        eprintln!("switchyard-load: {}:{port}: no address", args.host);
        return ExitCode::from(64);
    };
    let secs = |s: f64| Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO);
    let cfg = conns::ConnConfig {
        addr,
        protocol: match args.mqtt {
            Version::V311 => Protocol::V311,
            Version::V5 => Protocol::V5,
        },
        keep_alive: args.keep_alive,
        sources: if addr.ip().is_loopback() {
            conns::loopback_sources(args.sources)
        } else {
            Vec::new()
        },
        threads: args.conn_threads,
        broker_pid: args.broker_pid,
        settle: secs(args.settle),
        deadline: secs(args.idle_deadline),
        warmup: secs(args.warmup),
        duration: secs(args.duration),
        quiet: args.quiet,
    };
    let tag = format!("{:x}", std::process::id());
    let (table, json, plot, failed) = if let Some(n) = args.idle {
        let o = conns::idle(&cfg, n, &tag);
        let (t, j) = report::idle_report(&args.label, &addr.to_string(), &o);
        (t, j, None, o.connected == 0)
    } else {
        let c = args.connect_rate.unwrap_or(1);
        let o = conns::connect_rate(&cfg, c, &tag);
        let (t, j, p) = report::rate_report(&args.label, &addr.to_string(), args.duration, &o);
        (t, j, Some(p), o.in_window == 0)
    };
    print!("{table}");
    if !write_outputs(args, &json, plot.as_deref()) || failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn config(args: &Args) -> Result<Config, String> {
    let stomp = stomp_options(args)?;
    let amqp = amqp_options(args)?;
    let port = args.port.unwrap_or(match args.protocol {
        Wire::Mqtt => 1883,
        Wire::Stomp => 61613,
        Wire::Amqp => 5672,
    });
    let addr: SocketAddr = (args.host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("{}:{port}: {e}", args.host))?
        .next()
        .ok_or_else(|| format!("{}: no address", args.host))?;
    if args.payload < 16 {
        return Err("--payload must be at least 16 bytes".into());
    }
    let topology = match (args.fanout, args.fanin) {
        (Some(m), _) => Topology::Fanout(m),
        (None, Some(n)) => Topology::Fanin(n),
        (None, None) => Topology::Pairs(args.pairs),
    };
    if args.fanin.is_some() && args.protocol != Wire::Mqtt {
        return Err("--fanin is done for MQTT only".into());
    }
    if topology.subscribers() == 0 {
        return Err("--pairs and --fanout must be at least 1".into());
    }
    if args.backlog.is_some() && args.protocol == Wire::Stomp {
        return Err("--backlog is done for MQTT and AMQP, not STOMP".into());
    }
    if args.sub_threads > 0 && args.protocol != Wire::Mqtt {
        return Err("--sub-threads is done for MQTT only".into());
    }
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err("--rate must be a positive number".into());
    }
    if args.inflight == 0 || args.inflight > 65_535 {
        return Err("--inflight must be 1 to 65,535".into());
    }
    let seconds = |name: &str, s: f64| {
        Duration::try_from_secs_f64(s).map_err(|_| format!("--{name}: not a duration: {s}"))
    };
    let duration = seconds("duration", args.duration)?;
    if duration.is_zero() {
        return Err("--duration must be more than 0".into());
    }
    Ok(Config {
        addr,
        protocol: match args.mqtt {
            Version::V311 => Protocol::V311,
            Version::V5 => Protocol::V5,
        },
        // STOMP receipts and AMQP confirms are QoS 1's acknowledgements: the same
        // window, drain and checks.
        qos: if args.qos == 0 && !args.receipts && !args.confirms {
            QoS::AtMostOnce
        } else {
            QoS::AtLeastOnce
        },
        stomp,
        amqp,
        payload: args.payload,
        topology,
        sub_threads: args.sub_threads,
        backlog: if args.protocol == Wire::Mqtt {
            args.backlog.unwrap_or(0)
        } else {
            0
        },
        rate: args.rate,
        inflight: args.inflight,
        warmup: seconds("warmup", args.warmup)?,
        duration,
        drain: seconds("drain", args.drain)?,
        keep_alive: args.keep_alive,
        quiet: args.quiet,
    })
}

/// The STOMP options, `None` for MQTT and AMQP; refuses options of the other protocols.
fn stomp_options(args: &Args) -> Result<Option<StompOptions>, String> {
    if args.protocol != Wire::Stomp {
        let stomp_only = [
            ("--destination-kind", args.destination_kind.is_some()),
            ("--ack", args.ack.is_some()),
            // AMQP has a prefetch too.
            (
                "--prefetch",
                args.prefetch.is_some() && args.protocol == Wire::Mqtt,
            ),
            ("--receipts", args.receipts),
        ];
        if let Some((name, _)) = stomp_only.iter().find(|(_, given)| *given) {
            return Err(format!("{name} needs --protocol stomp"));
        }
        return Ok(None);
    }
    if args.qos != 0 {
        return Err("--qos is MQTT's: STOMP's acknowledged sends are --receipts".into());
    }
    if args.mqtt != Version::V311 || args.keep_alive != 0 {
        return Err("--mqtt and --keep-alive are MQTT's".into());
    }
    let destination_kind = match args.destination_kind {
        None | Some(DestinationArg::Queue) => DestinationKind::Queue,
        Some(DestinationArg::Topic) => DestinationKind::Topic,
    };
    if args.fanout.is_some() && destination_kind == DestinationKind::Queue {
        return Err("--fanout needs --destination-kind topic (a queue's consumers compete)".into());
    }
    Ok(Some(StompOptions {
        destination_kind,
        ack: match args.ack {
            None | Some(AckArg::Auto) => AckMode::Auto,
            Some(AckArg::ClientIndividual) => AckMode::ClientIndividual,
        },
        prefetch: args.prefetch,
        receipts: args.receipts,
        login: args.login.clone(),
        passcode: args.passcode.clone(),
        vhost: args.vhost.clone(),
    }))
}

/// The AMQP options, `None` for MQTT and STOMP; refuses options of the other protocols.
fn amqp_options(args: &Args) -> Result<Option<AmqpOptions>, String> {
    if args.protocol != Wire::Amqp {
        let amqp_only = [
            ("--confirms", args.confirms),
            ("--no-ack", args.no_ack),
            ("--durable", args.durable),
            ("--ack-every", args.ack_every.is_some()),
        ];
        if let Some((name, _)) = amqp_only.iter().find(|(_, given)| *given) {
            return Err(format!("{name} needs --protocol amqp"));
        }
        return Ok(None);
    }
    if args.qos != 0 {
        return Err("--qos is MQTT's: AMQP's acknowledged publishes are --confirms".into());
    }
    if args.mqtt != Version::V311 || args.keep_alive != 0 {
        return Err("--mqtt and --keep-alive are MQTT's".into());
    }
    if args.fanout.is_some() {
        return Err("--fanout is not done for AMQP yet: --pairs".into());
    }
    if args.no_ack && (args.prefetch.is_some() || args.ack_every.is_some()) {
        return Err("--prefetch and --ack-every are for manual acks, not --no-ack".into());
    }
    let prefetch = match args.prefetch {
        None => 1000,
        Some(n) => u16::try_from(n).map_err(|_| "--prefetch: at most 65,535 for AMQP")?,
    };
    let ack_every = match args.ack_every {
        Some(0) => return Err("--ack-every must be at least 1".into()),
        Some(k) if prefetch > 0 && k > prefetch => {
            return Err(format!(
                "--ack-every {k} is over the prefetch {prefetch}: the consumer would stall"
            ));
        }
        Some(k) => k,
        None if prefetch == 0 => 100,
        None => (prefetch / 2).clamp(1, 100),
    };
    Ok(Some(AmqpOptions {
        confirms: args.confirms,
        no_ack: args.no_ack,
        durable: args.durable,
        prefetch,
        ack_every,
        backlog: args.backlog.unwrap_or(1000),
        login: args.login.clone(),
        password: args.passcode.clone(),
        vhost: args.vhost.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_well_formed() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn arguments_parse() {
        let args = Args::try_parse_from([
            "switchyard-load",
            "--fanout",
            "8",
            "--qos",
            "1",
            "--mqtt",
            "5",
            "--rate",
            "100",
            "--sub-threads",
            "2",
            "--backlog",
            "500",
        ])
        .unwrap();
        let config = config(&args).unwrap();
        assert!(matches!(config.topology, Topology::Fanout(8)));
        assert_eq!((config.sub_threads, config.backlog), (2, 500));
        assert_eq!(config.protocol, Protocol::V5);
        assert_eq!(config.qos, QoS::AtLeastOnce);
        assert!(Args::try_parse_from(["switchyard-load", "--qos", "2"]).is_err());
        let short = Args::try_parse_from(["switchyard-load", "--payload", "8"]).unwrap();
        assert!(config_err(&short));
    }

    #[test]
    fn stomp_arguments_parse() {
        let args = Args::try_parse_from([
            "switchyard-load",
            "--protocol",
            "stomp",
            "--destination-kind",
            "topic",
            "--ack",
            "client-individual",
            "--prefetch",
            "100",
            "--receipts",
        ])
        .unwrap();
        let stomp_config = config(&args).unwrap();
        assert_eq!(stomp_config.addr.port(), 61613);
        assert_eq!(stomp_config.qos, QoS::AtLeastOnce);
        let stomp = stomp_config.stomp.unwrap();
        assert_eq!(stomp.destination_kind, DestinationKind::Topic);
        assert_eq!(stomp.ack, AckMode::ClientIndividual);
        assert_eq!(stomp.prefetch, Some(100));
        assert_eq!(stomp.vhost, "/");
        let plain = Args::try_parse_from(["switchyard-load", "--protocol", "stomp"]).unwrap();
        let plain = config(&plain).unwrap();
        assert_eq!(plain.qos, QoS::AtMostOnce);
        assert_eq!(
            plain.stomp.unwrap().destination_kind,
            DestinationKind::Queue
        );
        for wrong in [
            &["switchyard-load", "--receipts"][..],
            &["switchyard-load", "--protocol", "stomp", "--qos", "1"],
            &["switchyard-load", "--protocol", "stomp", "--fanout", "4"],
            &[
                "switchyard-load",
                "--protocol",
                "stomp",
                "--sub-threads",
                "2",
            ],
            &["switchyard-load", "--protocol", "stomp", "--backlog", "10"],
        ] {
            assert!(
                config_err(&Args::try_parse_from(wrong).unwrap()),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn amqp_arguments_parse() {
        let args = Args::try_parse_from([
            "switchyard-load",
            "--protocol",
            "amqp",
            "--confirms",
            "--durable",
            "--prefetch",
            "50",
            "--backlog",
            "0",
        ])
        .unwrap();
        let amqp_config = config(&args).unwrap();
        assert_eq!(amqp_config.addr.port(), 5672);
        assert_eq!(amqp_config.qos, QoS::AtLeastOnce);
        assert!(amqp_config.stomp.is_none());
        let amqp = amqp_config.amqp.unwrap();
        assert!(amqp.confirms && !amqp.no_ack && amqp.durable);
        assert_eq!(amqp.delivery_mode(), 2);
        assert_eq!((amqp.prefetch, amqp.ack_every, amqp.backlog), (50, 25, 0));
        assert_eq!((amqp.login.as_str(), amqp.vhost.as_str()), ("guest", "/"));
        let plain = Args::try_parse_from(["switchyard-load", "--protocol", "amqp"]).unwrap();
        let plain = config(&plain).unwrap();
        assert_eq!(plain.qos, QoS::AtMostOnce);
        let amqp = plain.amqp.unwrap();
        assert!(!amqp.durable);
        assert_eq!(amqp.delivery_mode(), 1);
        assert_eq!(
            (amqp.prefetch, amqp.ack_every, amqp.backlog),
            (1000, 100, 1000)
        );
        for wrong in [
            &["switchyard-load", "--confirms"][..],
            &["switchyard-load", "--protocol", "stomp", "--no-ack"],
            &["switchyard-load", "--durable"],
            &["switchyard-load", "--protocol", "amqp", "--qos", "1"],
            &["switchyard-load", "--protocol", "amqp", "--fanout", "4"],
            &["switchyard-load", "--protocol", "amqp", "--receipts"],
            &[
                "switchyard-load",
                "--protocol",
                "amqp",
                "--no-ack",
                "--prefetch",
                "9",
            ],
            &[
                "switchyard-load",
                "--protocol",
                "amqp",
                "--prefetch",
                "10",
                "--ack-every",
                "11",
            ],
            &[
                "switchyard-load",
                "--protocol",
                "amqp",
                "--prefetch",
                "70000",
            ],
        ] {
            assert!(
                config_err(&Args::try_parse_from(wrong).unwrap()),
                "{wrong:?}"
            );
        }
    }

    fn config_err(args: &Args) -> bool {
        config(args).is_err()
    }
}
