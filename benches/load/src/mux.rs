//! MQTT subscribers multiplexed over a few threads (`--sub-threads N`): each thread owns
//! a share of the connections and waits on all of them with one epoll instance, so that
//! a fan-out to 1,000 subscribers costs a few threads, not a thousand. With one thread
//! per subscriber (the default for pairs), every message of a fan-out wakes every
//! subscriber thread: on a 2-core machine the generator's context switches then compete
//! with the broker for the cores.
//!
//! The sockets stay blocking; epoll (level-triggered) only says which have bytes, and
//! each gets one `read` per wake-up, so no read blocks and no connection starves the
//! others. PUBACKs are written as in the thread-per-subscriber loop (a blocking write of
//! the acks of one read). What is counted and recorded is the same: the packet handling
//! is [`subscriber::handle_read`].

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::BytesMut;

use crate::conn::{Conn, is_timeout};
use crate::run::Shared;
use crate::subscriber::{self, SubResult};

/// How long one `epoll_wait` blocks, so that the stop is seen within this.
const WAIT_MS: i32 = 100;

/// Most events taken by one `epoll_wait`.
const MAX_EVENTS: usize = 256;

/// One subscriber of a group: its index in the run, its connection, its live count.
pub(crate) struct Member {
    pub(crate) index: usize,
    pub(crate) conn: Conn,
    pub(crate) received: Arc<AtomicU64>,
}

/// Starts one thread reading every member's connection. It returns each member's
/// result with its index when the run stops. A member whose connection fails aborts the
/// run (as a subscriber thread would) and is read no more; the others go on to the stop.
pub(crate) fn spawn(
    group: usize,
    members: Vec<Member>,
    shared: Arc<Shared>,
) -> io::Result<JoinHandle<Vec<(usize, SubResult)>>> {
    let epoll = Epoll::new()?;
    for (k, m) in members.iter().enumerate() {
        // A guard only: a read follows readiness, so it does not block.
        m.conn
            .stream
            .set_read_timeout(Some(Duration::from_millis(100)))?;
        epoll.add(m.conn.stream.as_raw_fd(), k as u64)?;
    }
    thread::Builder::new()
        .name(format!("subs-{group}"))
        .spawn(move || run(&epoll, members, &shared))
}

/// A member's state in the loop: `None` once its connection failed or closed.
struct Slot {
    index: usize,
    conn: Option<Conn>,
    received: Arc<AtomicU64>,
    result: SubResult,
}

fn run(epoll: &Epoll, members: Vec<Member>, shared: &Shared) -> Vec<(usize, SubResult)> {
    let mut slots: Vec<Slot> = members
        .into_iter()
        .map(|m| Slot {
            index: m.index,
            conn: Some(m.conn),
            received: m.received,
            result: SubResult::new(),
        })
        .collect();
    let mut acks = BytesMut::with_capacity(4096);
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
    while !shared.is_stopped() {
        let ready = match epoll.wait(&mut events, WAIT_MS) {
            Ok(n) => n,
            Err(e) if is_timeout(&e) => 0,
            Err(e) => {
                shared.fail(format!("epoll_wait: {e}"));
                break;
            }
        };
        for event in events.iter().take(ready) {
            let Some(slot) = slots.get_mut(event.u64 as usize) else {
                continue;
            };
            let Some(conn) = slot.conn.as_mut() else {
                continue;
            };
            let outcome = match conn.fill() {
                Ok(0) if shared.is_stopped() => Ok(false),
                Ok(0) => Err(io::Error::other("the broker closed the connection")),
                Ok(_) => subscriber::handle_read(conn, shared, &mut slot.result, &mut acks)
                    .map(|()| true),
                Err(e) if is_timeout(&e) => Ok(true),
                Err(e) => Err(e),
            };
            slot.received.store(slot.result.received, Ordering::Release);
            if let Err(e) = &outcome {
                shared.fail(format!("subscriber {}: {e}", slot.index));
                acks.clear();
            }
            if !matches!(outcome, Ok(true)) {
                let _ = epoll.delete(conn.stream.as_raw_fd());
                slot.conn = None;
            }
        }
    }
    slots
        .into_iter()
        .map(|mut slot| {
            if let Some(conn) = slot.conn.take() {
                conn.close();
            }
            (slot.index, slot.result)
        })
        .collect()
}

/// An epoll instance (Linux).
struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    fn new() -> io::Result<Self> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result is a new file
        // descriptor that nothing else owns.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by no one else.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `fd` for input (level-triggered), tagging its events with `token`.
    fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
            u64: token,
        };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        let rc = unsafe {
            libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &raw mut event)
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: EPOLL_CTL_DEL ignores the event pointer (null is allowed since 2.6.9).
        let rc = unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits at most `timeout_ms` for events; returns how many were written to `events`.
    fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        let max = i32::try_from(events.len()).unwrap_or(i32::MAX);
        // SAFETY: `events` is writable for `max` entries during the call.
        let n =
            unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) };
        // A negative result is an error (EINTR included: `is_timeout` takes it as none).
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }
}
