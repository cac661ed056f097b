//! One blocking STOMP 1.2 client connection on `switchyard-stomp`: CONNECT (login,
//! passcode, virtual host, no heart-beats), SUBSCRIBE confirmed by a receipt, reading
//! whole frames; and the SEND template the publishers copy.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use bytes::BytesMut;
use switchyard_stomp::{AckMode, Command, Decoder, Frame, FrameWriter, Item, Limits, Version};

use crate::conn::{HANDSHAKE_TIMEOUT, MAX_PACKET_SIZE, READ_CHUNK, RunRead, other};
use crate::publisher::MessageTemplate;

/// The version the generator speaks.
pub(crate) const VERSION: Version = Version::V1_2;

/// Width of the receipt ids the publishers send: a zero-padded decimal `u64`, so that
/// the template's receipt header is patched in place.
const RECEIPT_DIGITS: usize = 20;

/// The STOMP side of a run's configuration.
#[derive(Debug, Clone)]
pub(crate) struct StompOptions {
    /// `/queue/...` or `/topic/...` destinations.
    pub(crate) destination_kind: DestinationKind,
    /// The subscribers' ack mode: `Auto`, or `ClientIndividual` (an ACK per MESSAGE).
    pub(crate) ack: AckMode,
    /// The `prefetch-count` header of SUBSCRIBE, if any.
    pub(crate) prefetch: Option<u32>,
    /// Publishers ask for a RECEIPT of each SEND and keep at most `inflight` without one.
    pub(crate) receipts: bool,
    /// CONNECT's `login` and `passcode`.
    pub(crate) login: String,
    pub(crate) passcode: String,
    /// CONNECT's `host`: the virtual host.
    pub(crate) vhost: String,
}

/// What a publisher sends to and a subscriber subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DestinationKind {
    /// `/queue/load-{run}-{i}`: a queue per pair, declared by both sides.
    Queue,
    /// `/topic/load.{run}.{i}`: the topic exchange; each subscriber gets its own queue.
    Topic,
}

impl DestinationKind {
    /// The destination of publisher `i` of run `tag`.
    pub(crate) fn destination(self, tag: &str, i: usize) -> String {
        match self {
            Self::Queue => format!("/queue/load-{tag}-{i}"),
            Self::Topic => format!("/topic/load.{tag}.{i}"),
        }
    }

    /// The name used in CLI, tables and JSON.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::Topic => "topic",
        }
    }
}

/// A connected STOMP client: its socket, its decoder and the bytes read but not yet
/// decoded.
pub(crate) struct StompConn {
    pub(crate) stream: TcpStream,
    decoder: Decoder,
    buf: BytesMut,
    name: String,
    scratch: Vec<u8>,
}

impl StompConn {
    /// Connects, sends CONNECT (STOMP 1.2 only, heart-beats off) and waits for
    /// CONNECTED. `name` names the client in errors.
    pub(crate) fn open(addr: SocketAddr, options: &StompOptions, name: &str) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let max = MAX_PACKET_SIZE as usize;
        let mut conn = Self {
            stream,
            decoder: Decoder::new(
                Limits::DEFAULT
                    .with_max_frame_size(max)
                    .with_max_body_size(max),
            ),
            buf: BytesMut::with_capacity(READ_CHUNK),
            name: name.to_owned(),
            scratch: vec![0; READ_CHUNK],
        };
        let connect = Frame::new(Command::Connect)
            .with_header("accept-version", VERSION.as_str())
            .with_header("host", options.vhost.as_str())
            .with_header("login", options.login.as_str())
            .with_header("passcode", options.passcode.as_str())
            .with_header("heart-beat", "0,0");
        conn.send(&connect)?;
        let frame = conn.read_frame()?;
        match frame.command {
            Command::Connected => {}
            _ => return Err(conn.unexpected(&frame, "CONNECTED")),
        }
        match frame.header("version").map(|v| &**v) {
            Some(v) if v == VERSION.as_str() => {}
            v => {
                return Err(other(format!(
                    "{name}: CONNECTED with version {v:?}, asked for {}",
                    VERSION.as_str()
                )));
            }
        }
        conn.decoder.set_version(VERSION);
        Ok(conn)
    }

    /// Subscribes to `destination` as subscription `id` and waits for the receipt, so
    /// the subscription is in place before anyone publishes.
    pub(crate) fn subscribe(
        &mut self,
        destination: &str,
        id: &str,
        ack: AckMode,
        prefetch: Option<u32>,
    ) -> io::Result<()> {
        let receipt = format!("subscribed-{id}");
        let mut frame = Frame::new(Command::Subscribe)
            .with_header("id", id)
            .with_header("destination", destination)
            .with_header("ack", ack.as_str())
            .with_header("receipt", receipt.as_str());
        if let Some(n) = prefetch {
            frame = frame.with_header("prefetch-count", n.to_string());
        }
        self.send(&frame)?;
        let frame = self.read_frame()?;
        match (frame.command, frame.header("receipt-id")) {
            (Command::Receipt, Some(r)) if **r == *receipt => Ok(()),
            _ => Err(self.unexpected(&frame, "the RECEIPT of SUBSCRIBE")),
        }
    }

    /// Encodes and writes one frame.
    pub(crate) fn send(&mut self, frame: &Frame) -> io::Result<()> {
        let mut out = BytesMut::new();
        frame.encode(VERSION, &mut out).map_err(other)?;
        self.stream.write_all(&out)
    }

    /// Blocks until one whole frame has arrived (or the read timeout passes); heart-beat
    /// EOLs are skipped.
    pub(crate) fn read_frame(&mut self) -> io::Result<Frame> {
        loop {
            match self.decoder.decode(&mut self.buf).map_err(other)? {
                Some(Item::Frame(frame)) => return Ok(frame),
                Some(Item::HeartBeat) => continue,
                None => {}
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// The next whole frame already read, if any; heart-beat EOLs are skipped.
    pub(crate) fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            match self.decoder.decode(&mut self.buf).map_err(other)? {
                Some(Item::Frame(frame)) => return Ok(Some(frame)),
                Some(Item::HeartBeat) => continue,
                None => return Ok(None),
            }
        }
    }

    /// One `read` from the socket appended to the buffer; 0 at end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        let n = self.stream.read(&mut self.scratch)?;
        self.buf
            .extend_from_slice(self.scratch.get(..n).unwrap_or_default());
        Ok(n)
    }

    /// One read while a run goes on (see [`crate::conn::read_during_run`]).
    pub(crate) fn read_during_run(&mut self, stopped: impl Fn() -> bool) -> io::Result<RunRead> {
        crate::conn::read_during_run(|| self.fill(), stopped)
    }

    /// The error for a frame that is not the one expected: an ERROR's message and body,
    /// or the command that came instead.
    pub(crate) fn unexpected(&self, frame: &Frame, expected: &str) -> io::Error {
        let name = &self.name;
        match frame.command {
            Command::Error => other(format!(
                "{name}: ERROR from the broker: {}: {}",
                frame.header("message").map_or("", |m| &**m),
                String::from_utf8_lossy(&frame.body).trim_end()
            )),
            command => other(format!("{name}: expected {expected}, got {command}")),
        }
    }

    /// Sends DISCONNECT, ignoring a connection already gone.
    pub(crate) fn close(mut self) {
        let _ = self.send(&Frame::new(Command::Disconnect));
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// A SEND frame encoded once by the codec, `content-length` included; each message is a
/// copy with the receipt id (if any), timestamp and sequence number patched in.
#[derive(Debug)]
pub(crate) struct SendTemplate {
    bytes: Vec<u8>,
    receipt_at: Option<usize>,
    payload_at: usize,
}

impl SendTemplate {
    /// Encodes a SEND of `payload_size` bytes (at least 16) to `destination`, with a
    /// `receipt` header if `receipts`, finds where the receipt id and the body sit, then
    /// checks the offsets by decoding a patched copy.
    pub(crate) fn new(destination: &str, payload_size: usize, receipts: bool) -> io::Result<Self> {
        if payload_size < 16 {
            return Err(other("the payload must be at least 16 bytes"));
        }
        let mut wire = BytesMut::new();
        let mut writer = FrameWriter::new(Command::Send, VERSION, &mut wire);
        writer.header("destination", destination);
        if receipts {
            writer.header("receipt", &"0".repeat(RECEIPT_DIGITS));
        }
        writer.finish(&vec![0xA5; payload_size]).map_err(other)?;
        let receipt_at = if receipts {
            let key = b"\nreceipt:";
            let at = wire
                .windows(key.len())
                .position(|w| w == key)
                .ok_or_else(|| other("no receipt header in the SEND template"))?;
            Some(at + key.len())
        } else {
            None
        };
        let template = Self {
            receipt_at,
            // The body ends one byte before the end, at the frame's NUL.
            payload_at: wire.len() - 1 - payload_size,
            bytes: wire.to_vec(),
        };
        template.check(destination, payload_size)?;
        Ok(template)
    }

    /// Decodes a patched message with the codec and compares every field.
    fn check(&self, destination: &str, payload_size: usize) -> io::Result<()> {
        let mut out = Vec::new();
        let seq = 12_345_678_901_234_567_890;
        self.write_to(&mut out, seq, 0x0102_0304_0506_0708);
        let mut buf = BytesMut::from(&out[..]);
        let decoded = Decoder::with_version(VERSION, Limits::UNLIMITED).decode(&mut buf);
        let ok = match decoded {
            Ok(Some(Item::Frame(f))) => {
                f.command == Command::Send
                    && f.destination().map(|d| &**d) == Some(destination)
                    && f.receipt().map(|r| &**r) == self.receipt_at.map(|_| "12345678901234567890")
                    && f.body.len() == payload_size
                    && f.body.get(..8) == Some(&0x0102_0304_0506_0708u64.to_le_bytes()[..])
                    && f.body.get(8..16) == Some(&seq.to_le_bytes()[..])
                    && buf.is_empty()
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(other("SEND template does not decode to what was patched"))
        }
    }
}

impl MessageTemplate for SendTemplate {
    fn len(&self) -> usize {
        self.bytes.len()
    }

    #[inline]
    fn write_to(&self, out: &mut Vec<u8>, seq: u64, sent_ns: u64) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        let msg = &mut out[start..];
        if let Some(at) = self.receipt_at {
            // The receipt id is the sequence number, zero-padded to its fixed width.
            let mut n = seq;
            for digit in msg[at..at + RECEIPT_DIGITS].iter_mut().rev() {
                *digit = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        let payload = &mut msg[self.payload_at..];
        payload[..8].copy_from_slice(&sent_ns.to_le_bytes());
        payload[8..16].copy_from_slice(&seq.to_le_bytes());
    }
}

/// The sequence number a publisher's receipt id carries, if it is one of ours.
pub(crate) fn receipt_seq(receipt_id: &str) -> Option<u64> {
    if receipt_id.len() != RECEIPT_DIGITS {
        return None;
    }
    receipt_id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_templates_decode() {
        for receipts in [false, true] {
            for size in [16, 64, 200, 20_000] {
                for kind in [DestinationKind::Queue, DestinationKind::Topic] {
                    let destination = kind.destination("1a2b3", 7);
                    SendTemplate::new(&destination, size, receipts).unwrap();
                }
            }
        }
        assert!(SendTemplate::new("/queue/a", 15, false).is_err());
    }

    #[test]
    fn receipt_ids_carry_the_sequence() {
        let template = SendTemplate::new("/queue/a", 16, true).unwrap();
        let mut out = Vec::new();
        template.write_to(&mut out, 42, 7);
        let mut buf = BytesMut::from(&out[..]);
        let Ok(Some(Item::Frame(f))) =
            Decoder::with_version(VERSION, Limits::DEFAULT).decode(&mut buf)
        else {
            panic!("the template does not decode");
        };
        let receipt = f.receipt().unwrap();
        assert_eq!(&**receipt, "00000000000000000042");
        assert_eq!(receipt_seq(receipt), Some(42));
        assert_eq!(receipt_seq("subscribed-0"), None);
    }

    #[test]
    fn destinations_are_named_as_documented() {
        assert_eq!(
            DestinationKind::Queue.destination("ab", 3),
            "/queue/load-ab-3"
        );
        assert_eq!(
            DestinationKind::Topic.destination("ab", 3),
            "/topic/load.ab.3"
        );
    }
}
