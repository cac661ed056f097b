//! The server: shards on their threads, listeners, the I/O driver choice, and the
//! orderly shutdown on SIGINT/SIGTERM.

pub mod driver;
pub mod outbox;
pub mod transport;
pub mod worker;

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

use anyhow::Context as _;

use crate::config::Config;
use crate::core::shard::{Limits, Shard, ShardMsg};
use crate::core::stats::Stats;
use worker::Shared;

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// MQTT 3.1.1 and 5.
    Mqtt,
    /// STOMP 1.0 to 1.2.
    Stomp,
    /// WebSocket: MQTT and STOMP by path.
    WebSocket,
    /// AMQP 0-9-1.
    Amqp,
}

impl std::fmt::Display for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Mqtt => "MQTT",
            Self::Stomp => "STOMP",
            Self::WebSocket => "WebSocket",
            Self::Amqp => "AMQP",
        })
    }
}

/// A running server: its shard threads and their mailboxes.
pub struct Server {
    threads: Vec<std::thread::JoinHandle<std::io::Result<()>>>,
    mailboxes: Vec<flume::Sender<ShardMsg>>,
    /// The addresses actually bound (port 0 resolved), with what each speaks.
    pub local_addrs: Vec<(Listener, std::net::SocketAddr)>,
}

impl Server {
    /// Binds the listeners and starts one thread per shard.
    pub fn start(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let shards = config.shard_count();
        let backend =
            driver::resolve(config.server.io_backend).context("cannot set up the I/O driver")?;
        tracing::info!(shards, backend = ?backend, "starting");
        // Bind once to resolve port 0, then every shard binds the same address.
        let mut addrs = Vec::new();
        let mut per_shard: Vec<Vec<(Listener, std::net::TcpListener)>> =
            (0..shards).map(|_| Vec::new()).collect();
        let listeners = (config.mqtt.listen.iter().map(|&a| (Listener::Mqtt, a)))
            .chain(config.stomp.listen.iter().map(|&a| (Listener::Stomp, a)))
            .chain(
                config
                    .websocket
                    .listen
                    .iter()
                    .map(|&a| (Listener::WebSocket, a)),
            )
            .chain(config.amqp.listen.iter().map(|&a| (Listener::Amqp, a)));
        for (kind, addr) in listeners {
            let bound =
                worker::claim(addr).with_context(|| format!("cannot listen on {addr} ({kind})"))?;
            addrs.push((kind, bound));
            let mut sockets = Vec::with_capacity(shards);
            for _ in 0..shards {
                sockets.push(
                    worker::listener(bound).with_context(|| format!("cannot listen on {bound}"))?,
                );
            }
            for (list, socket) in per_shard.iter_mut().zip(sockets) {
                list.push((kind, socket));
            }
        }
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..shards).map(|_| flume::bounded(65_536)).unzip();
        let stats = Arc::new(Stats::new(shards));
        let shared = Arc::new(Shared {
            config,
            connections: AtomicUsize::new(0),
            draining: AtomicUsize::new(shards),
            started: Instant::now(),
            start_line: worker::StartLine::new(shards),
        });
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        // Spawned threads inherit the mask: blocked from their first instruction, they
        // can never run a handler mid-spawn. A signal meanwhile waits for the unblock.
        let saved = block_shutdown_signals();
        let mut threads = Vec::new();
        for (id, (mailbox, listeners)) in receivers.into_iter().zip(per_shard).enumerate() {
            let mesh = senders.clone();
            let stats = stats.clone();
            let shared = shared.clone();
            let core = (!cores.is_empty() && shared.config.server.pin_threads)
                .then(|| cores.get(id % cores.len()).copied())
                .flatten();
            let limits = Limits {
                max_queued_messages: shared.config.mqtt.max_queued_messages,
                backpressure_queued: shared.config.mqtt.backpressure_queued,
                queue_high_water: shared.config.server.queue_high_water,
            };
            let spawned = std::thread::Builder::new()
                .name(format!("shard-{id}"))
                .spawn(move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    let id = u16::try_from(id).unwrap_or(u16::MAX);
                    let shard = Shard::new(id, mesh, limits, stats)
                        .ok_or_else(|| std::io::Error::other("shard index out of range"))?;
                    worker::run_shard(Rc::new(shard), mailbox, listeners, shared, backend)
                });
            let thread = match spawned {
                Ok(thread) => thread,
                Err(e) => {
                    restore_signals(saved);
                    return Err(e.into());
                }
            };
            threads.push(thread);
        }
        restore_signals(saved);
        Ok(Self {
            threads,
            mailboxes: senders,
            local_addrs: addrs,
        })
    }

    /// Disconnects every client (MQTT 5: DISCONNECT "server shutting down"), lets them
    /// flush, and joins the shard threads.
    pub fn shutdown(self) -> anyhow::Result<()> {
        for mailbox in &self.mailboxes {
            let _ = mailbox.send(ShardMsg::Shutdown);
        }
        for thread in self.threads {
            match thread.join() {
                Ok(result) => result.context("shard failed")?,
                Err(_) => anyhow::bail!("a shard thread panicked"),
            }
        }
        Ok(())
    }
}

/// Keeps SIGINT and SIGTERM off the calling thread (and the threads it spawns, such as
/// the runtime's blocking pool), so that they are always handled on the main thread.
/// A handler that ran on a thread still being spawned aborted the process ("current
/// thread handle already set during thread spawn") on the polling backend. Returns the
/// mask to restore.
fn block_shutdown_signals() -> Option<nix::sys::signal::SigSet> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    let mut old = SigSet::empty();
    match pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)) {
        Ok(()) => Some(old),
        Err(e) => {
            tracing::warn!("cannot block SIGINT/SIGTERM on a thread: {e}");
            None
        }
    }
}

/// Puts back a signal mask saved by [`block_shutdown_signals`].
fn restore_signals(old: Option<nix::sys::signal::SigSet>) {
    use nix::sys::signal::{SigmaskHow, pthread_sigmask};
    if let Some(old) = old
        && let Err(e) = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None)
    {
        tracing::warn!("cannot restore the signal mask: {e}");
    }
}

/// SIGINT and SIGTERM handlers, installed before the listeners open so that a signal
/// that arrives as soon as the port accepts still shuts down in order.
pub struct Signals {
    runtime: compio::runtime::Runtime,
    received: flume::Receiver<()>,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> anyhow::Result<Self> {
        let runtime = driver::build_runtime(crate::config::IoBackend::Portable)?;
        let (tx, received) = flume::bounded::<()>(2);
        // A handler is registered by its task's first poll.
        runtime.block_on(async {
            // SIGTERM is 15 on every Unix Switchyard runs on.
            const SIGTERM: i32 = 15;
            let term = tx.clone();
            compio::runtime::spawn(async move {
                if compio::signal::unix::signal(SIGTERM).await.is_ok() {
                    let _ = term.send_async(()).await;
                }
            })
            .detach();
            compio::runtime::spawn(async move {
                if compio::signal::ctrl_c().await.is_ok() {
                    let _ = tx.send_async(()).await;
                }
            })
            .detach();
        });
        // Poll the new tasks until both wait on their signal.
        while runtime.run() {}
        Ok(Self { runtime, received })
    }

    /// Blocks until SIGINT or SIGTERM.
    pub fn wait(self) {
        let received = self.received;
        self.runtime.block_on(async move {
            let _ = received.recv_async().await;
        });
    }
}
