//! One pinned thread per shard: its runtime, its SO_REUSEPORT listener, its mailbox
//! loop and timers, and the connections it accepts.

use std::cell::Cell;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use compio::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{Config, IoBackend};
use crate::core::shard::{Shard, ShardMsg, VhostChange};
use crate::gateway::GatewayContext as MqttContext;
use crate::gateway::{amqp, mqtt, stomp, websocket};
use crate::server::outbox::until;
use crate::server::{Listener, driver};

/// What every shard shares.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// Connections open on all shards (for `max_connections`).
    pub connections: AtomicUsize,
    /// When the server started.
    pub started: Instant,
    /// Where the shards meet at start-up, to share what their logs held.
    pub start_line: StartLine,
    /// Shards still closing their connections at shutdown: each answers its mailbox
    /// until none is (a closing connection may wait on another shard's answer).
    pub draining: AtomicUsize,
}

/// Where the shards meet at start-up (twice), each answering its mailbox while it waits:
/// what one shard recovered (queues, sessions, interest) can be more than a mailbox
/// holds, and the rest is sent by tasks that need the receiving shard to read on.
#[derive(Debug)]
pub struct StartLine {
    arrived: AtomicUsize,
    shards: usize,
}

impl StartLine {
    /// A start line for `shards` shards.
    pub fn new(shards: usize) -> Self {
        Self {
            arrived: AtomicUsize::new(0),
            shards,
        }
    }

    /// Waits until every shard reached line `round` (1, then 2), handling `shard`'s
    /// mailbox meanwhile; arrives only once what this shard sent is delivered.
    async fn wait(&self, round: usize, shard: &Shard, mailbox: &flume::Receiver<ShardMsg>) {
        let drain = || {
            while let Ok(msg) = mailbox.try_recv() {
                shard.handle(msg);
            }
        };
        while shard.sends_in_flight() > 0 {
            drain();
            compio::time::sleep(Duration::from_millis(1)).await;
        }
        self.arrived.fetch_add(1, Ordering::AcqRel);
        while self.arrived.load(Ordering::Acquire) < self.shards * round {
            drain();
            compio::time::sleep(Duration::from_millis(1)).await;
        }
        drain();
    }
}

/// How long a stopping shard waits for a listener to close.
const LISTENER_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a start waits for an address still in use: a process killed with SIGKILL
/// leaves its listening sockets to the kernel's asynchronous io_uring teardown, which
/// frees them within moments.
const CLAIM_PATIENCE: Duration = Duration::from_secs(3);

/// Claims an address for this process: binds it without SO_REUSEPORT, so that an address
/// another process already serves (even with SO_REUSEPORT) is refused as "in use"
/// rather than silently shared; returns the bound address (port 0 resolved). The
/// socket is closed again; the shards' SO_REUSEPORT sockets then bind the address.
/// An address in use is tried again for up to [`CLAIM_PATIENCE`].
pub fn claim(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let deadline = Instant::now() + CLAIM_PATIENCE;
    loop {
        match claim_once(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                tracing::debug!(%addr, "address in use; trying again");
                std::thread::sleep(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

fn claim_once(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| std::io::Error::other("bound address is not an IP address"))
}

/// Opens a listening socket that shares its port with the other shards' sockets.
pub fn listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Runs shard `shard` on the current thread until it is shut down.
pub fn run_shard(
    shard: Rc<Shard>,
    mailbox: flume::Receiver<ShardMsg>,
    listeners: Vec<(Listener, std::net::TcpListener)>,
    shared: Arc<Shared>,
    backend: IoBackend,
) -> std::io::Result<()> {
    let runtime = driver::build_runtime(backend)?;
    runtime.block_on(async move {
        let live = Rc::new(Cell::new(0usize));
        let ctx = Rc::new(MqttContext::new(shard.clone(), shared.clone()));
        // What the durable log held is back before any connection is accepted.
        recover(&shard, &mailbox, &shared).await?;
        // Dropping `stop_accepting` ends every accept loop.
        let (stop_accepting, accepting) = flume::bounded::<()>(1);
        let mut acceptors = Vec::new();
        for (kind, std_listener) in listeners {
            let listener = TcpListener::from_std(std_listener)?;
            acceptors.push(compio::runtime::spawn(accept_loop(
                kind,
                listener,
                accepting.clone(),
                ctx.clone(),
                live.clone(),
            )));
        }
        drop(accepting);
        // A shutdown that came while the log was replaying was handled there.
        let stopped_early = shard.is_stopping();
        let sweeper = shard.clone();
        compio::runtime::spawn(async move {
            loop {
                compio::time::sleep(Duration::from_secs(1)).await;
                sweeper.sweep(Instant::now()).await;
                sweeper.sweep_queues(Instant::now());
                sweeper.probe_disk();
            }
        })
        .detach();
        if shard.id() == 0 && shared.config.mqtt.sys_interval > 0 {
            compio::runtime::spawn(crate::gateway::sys::publish_loop(
                shard.clone(),
                shared.clone(),
            ))
            .detach();
        }
        while !stopped_early && let Ok(msg) = mailbox.recv_async().await {
            let mut shutdown = matches!(msg, ShardMsg::Shutdown);
            shard.handle(msg);
            // Drain what else arrived in this iteration before yielding.
            while let Ok(msg) = mailbox.try_recv() {
                shutdown |= matches!(msg, ShardMsg::Shutdown);
                shard.handle(msg);
            }
            if shutdown {
                break;
            }
        }
        // Stop accepting first, and wait until the listeners are closed: an accept still
        // pending in the ring would keep the port bound after the process exits (the
        // kernel tears a ring down asynchronously), and a restart would find it in use.
        drop(stop_accepting);
        for acceptor in acceptors {
            let _ = acceptor.await;
        }
        // Let connections flush their DISCONNECT and close, for at most two seconds,
        // still answering the other shards meanwhile.
        tracing::debug!(
            shard = shard.id(),
            live = live.get(),
            "draining connections"
        );
        let deadline = Instant::now() + Duration::from_secs(2);
        while live.get() > 0 && Instant::now() < deadline {
            while let Ok(msg) = mailbox.try_recv() {
                shard.handle(msg);
            }
            compio::time::sleep(Duration::from_millis(5)).await;
        }
        // Go on answering the other shards until their connections are closed too.
        shared.draining.fetch_sub(1, Ordering::AcqRel);
        while shared.draining.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            while let Ok(msg) = mailbox.try_recv() {
                shard.handle(msg);
            }
            compio::time::sleep(Duration::from_millis(5)).await;
        }
        // What was logged and not yet committed goes to disk before the shard stops.
        crate::core::shard::final_commit(&shard).await;
        tracing::debug!(shard = shard.id(), live = live.get(), "shard stopped");
        Ok(())
    })
}

/// Opens the shard's durable log (with `store.enabled`) and restores what it held, in
/// step with the other shards: each restores its queues and MQTT sessions and announces
/// them (sessions to their client ids' home shards); once all have (the start line),
/// shard 0 declares the durable exchanges and bindings everywhere and the home shards
/// settle which copy of a session lives; once those are out (the start line again),
/// every shard applies what it was sent.
/// Only then does any shard accept a connection. Every shard reaches both lines even
/// when its log fails to open, so that none waits forever.
async fn recover(
    shard: &Rc<Shard>,
    mailbox: &flume::Receiver<ShardMsg>,
    shared: &Shared,
) -> std::io::Result<()> {
    let store = &shared.config.store;
    if !store.enabled {
        return Ok(());
    }
    let dir = crate::store::shard_dir(&shared.config.server.data_dir, usize::from(shard.id()));
    let opened = shard.open_store(&dir, store).await;
    if let Ok(recovered) = &opened {
        for name in &recovered.queues {
            shard.announce_recovered(VhostChange::DeclareQueue(name.clone()));
        }
    }
    shared.start_line.wait(1, shard, mailbox).await;
    if let Ok(recovered) = &opened {
        let declares = recovered.exchanges.iter().cloned();
        for change in declares.map(VhostChange::DeclareExchange) {
            shard.announce_recovered(change);
        }
        for (exchange, binding) in &recovered.bindings {
            let change = VhostChange::Bind {
                exchange: exchange.clone(),
                binding: binding.clone(),
            };
            shard.announce_recovered(change);
        }
        for message in &recovered.retained {
            shard.announce_retained(message.clone());
        }
    }
    shared.start_line.wait(2, shard, mailbox).await;
    shard.recovery_done();
    let recovered = opened.map_err(std::io::Error::other)?;
    tracing::info!(
        shard = shard.id(),
        queues = recovered.queues.len(),
        messages = recovered.messages,
        sessions = recovered.sessions,
        corrupt_records = recovered.stats.corrupt_records,
        truncated_bytes = recovered.stats.truncated_bytes,
        undecodable = recovered.undecodable,
        "durable log recovered"
    );
    compio::runtime::spawn(crate::core::shard::commit_loop(shard.clone())).detach();
    Ok(())
}

/// Accepts connections until `stop` is disconnected, then closes the listener and
/// returns once the close is done.
async fn accept_loop(
    kind: Listener,
    listener: TcpListener,
    stop: flume::Receiver<()>,
    ctx: Rc<MqttContext>,
    live: Rc<Cell<usize>>,
) {
    loop {
        let stopped = async {
            let _ = stop.recv_async().await;
        };
        let Some(accepted) = until(pin!(listener.accept()), pin!(stopped)).await else {
            break;
        };
        match accepted {
            Ok((stream, peer)) => {
                let shared = ctx.shared();
                let limit = shared.config.mqtt.max_connections;
                if shared.connections.fetch_add(1, Ordering::Relaxed) >= limit {
                    shared.connections.fetch_sub(1, Ordering::Relaxed);
                    tracing::warn!(%peer, limit, "connection refused: max_connections reached");
                    match kind {
                        Listener::Mqtt => compio::runtime::spawn(mqtt::refuse_busy(stream)),
                        Listener::Stomp => compio::runtime::spawn(stomp::refuse_busy(stream)),
                        Listener::WebSocket => {
                            compio::runtime::spawn(websocket::refuse_busy(stream))
                        }
                        Listener::Amqp => compio::runtime::spawn(amqp::refuse_busy(stream)),
                    }
                    .detach();
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let ctx = ctx.clone();
                let live = live.clone();
                live.set(live.get() + 1);
                // One spawn per protocol: a task is as large as its future, and an MQTT
                // connection must not pay for the room a WebSocket one needs.
                let done = move |ctx: Rc<MqttContext>| {
                    ctx.shared().connections.fetch_sub(1, Ordering::Relaxed);
                    live.set(live.get().saturating_sub(1));
                };
                match kind {
                    Listener::Mqtt => compio::runtime::spawn(async move {
                        mqtt::serve(stream, peer, ctx.clone()).await;
                        done(ctx);
                    }),
                    Listener::Stomp => compio::runtime::spawn(async move {
                        stomp::serve(stream, peer, ctx.clone()).await;
                        done(ctx);
                    }),
                    Listener::WebSocket => compio::runtime::spawn(async move {
                        websocket::serve(stream, peer, ctx.clone()).await;
                        done(ctx);
                    }),
                    Listener::Amqp => compio::runtime::spawn(async move {
                        amqp::serve(stream, peer, ctx.clone()).await;
                        done(ctx);
                    }),
                }
                .detach();
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                compio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // The cancelled accept holds the socket until its completion arrives; `close` waits
    // for that before it closes the descriptor. Bounded: a completion that never comes
    // must not keep the process from exiting (the kernel closes what is left at exit).
    match compio::time::timeout(LISTENER_CLOSE_TIMEOUT, listener.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("closing a listener failed: {e}"),
        Err(_) => tracing::warn!("closing a listener timed out"),
    }
}
