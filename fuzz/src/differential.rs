//! The differential check against `mqttbytes` 0.6 (v4 module for MQTT 3.1.1, v5 for 5.0).
//!
//! Both decoders read the same stream, packet by packet, until either of them stops.
//! - Both accept: the two packets, normalized ([`crate::norm`]), must be equal, and both
//!   decoders must have consumed the same frame.
//! - We reject, `mqttbytes` accepts: our error must be one that a documented laxness of
//!   `mqttbytes` explains, and the frame (or `mqttbytes`' reading of it) must show the
//!   violation that our error names. Each check cites its deliberate difference `Dn`,
//!   listed with its normative statement at the top of
//!   `fuzz_targets/differential_mqttbytes.rs`.
//! - We accept, `mqttbytes` rejects: only for the documented cases where `mqttbytes` is
//!   stricter than the standard or wrong.
//!
//! Anything else panics with both verdicts and the frame in hex.

use bytes::BytesMut;
use mqttbytes::{v4, v5};
use switchyard_mqtt::{DecodeError, Decoder, Packet, Protocol};

use crate::norm::{self, Norm, Props, Theirs, Val, id};

/// The maximum packet size given to both decoders: far above what libFuzzer generates, so
/// that size limits (measured differently by the two, D28) never decide a comparison.
const MAX_PACKET_SIZE: u32 = 1 << 20;

/// How one step of the comparison ended (for tests and corpus statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Both decoded the packet (of this type) and agree on its meaning.
    Agree(u8),
    /// Both decoded the packet, but `mqttbytes` lost track of its properties (D23).
    Diverged,
    /// We rejected, `mqttbytes` accepted, and a documented difference explains it.
    OursRejected(DecodeError),
    /// We accepted, `mqttbytes` rejected, and a documented difference explains it.
    TheirsRejected(mqttbytes::Error),
    /// Both rejected.
    BothRejected,
    /// Both need more bytes.
    NeedMore,
    /// A size limit was hit (D28).
    TooLarge,
    /// We rejected the remaining length before the frame was complete.
    BadLength,
}

/// Runs the differential check on one fuzz input. The first byte picks the version
/// (even: MQTT 3.1.1 against `mqttbytes::v4`, odd: MQTT 5.0 against `mqttbytes::v5`);
/// the rest is the byte stream. Returns how each packet compared.
pub fn run(data: &[u8]) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let Some((&selector, stream)) = data.split_first() else {
        return verdicts;
    };
    let protocol = if selector & 1 == 0 {
        Protocol::V311
    } else {
        Protocol::V5
    };
    let mut decoder = Decoder::with_protocol(protocol, MAX_PACKET_SIZE);
    let mut ours = BytesMut::from(stream);
    let mut theirs = BytesMut::from(stream);
    while !ours.is_empty() {
        let verdict = step(&mut decoder, protocol, &mut ours, &mut theirs);
        verdicts.push(verdict);
        if !matches!(verdict, Verdict::Agree(_) | Verdict::Diverged) {
            break;
        }
    }
    verdicts
}

/// What `mqttbytes` made of the front of the stream.
#[derive(Debug)]
enum Outcome {
    Packet(Theirs),
    /// `InsufficientBytes` with nothing consumed: the frame is not complete.
    NeedMore,
    /// Over the size limit (D28).
    TooLarge,
    /// Any other error, or `InsufficientBytes` after consuming a frame (v5 reports some
    /// malformed frames so).
    Rejected(mqttbytes::Error),
}

fn read_theirs(v5: bool, buf: &mut BytesMut) -> Outcome {
    let before = buf.len();
    let max = MAX_PACKET_SIZE as usize;
    let result = if v5 {
        v5::read(buf, max).map(|p| Theirs::V5(Box::new(p)))
    } else {
        v4::read(buf, max).map(Theirs::V4)
    };
    match result {
        Ok(p) => Outcome::Packet(p),
        Err(mqttbytes::Error::InsufficientBytes(_)) if buf.len() == before => Outcome::NeedMore,
        Err(mqttbytes::Error::PayloadSizeLimitExceeded(_)) => Outcome::TooLarge,
        Err(e) => Outcome::Rejected(e),
    }
}

/// A variable byte integer read without the minimality rule: value, length, minimal.
fn lenient_varint(buf: &[u8]) -> Option<(usize, usize, bool)> {
    let mut value = 0usize;
    for (i, &byte) in buf.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1, i == 0 || byte != 0));
        }
    }
    None
}

/// One complete frame at the front of the stream, framed leniently.
#[derive(Debug)]
struct Frame<'a> {
    header: u8,
    /// Whether the remaining length is in its shortest form.
    minimal: bool,
    body: &'a [u8],
    len: usize,
}

impl<'a> Frame<'a> {
    fn parse(buf: &'a [u8]) -> Option<Self> {
        let (&header, rest) = buf.split_first()?;
        let (rl, n, minimal) = lenient_varint(rest)?;
        let body = rest.get(n..n + rl)?;
        Some(Self {
            header,
            minimal,
            body,
            len: 1 + n + rl,
        })
    }

    fn packet_type(&self) -> u8 {
        self.header >> 4
    }
}

/// The `mqttbytes` module for the front of the stream: a CONNECT carries its own protocol
/// level and goes to the module of that level, as it does in our decoder (D27).
fn oracle_is_v5(buf: &[u8], protocol: Protocol) -> bool {
    if let Some(frame) = Frame::parse(buf).filter(|f| f.packet_type() == 1) {
        match frame.body.get(..7) {
            Some([0, 4, b'M', b'Q', b'T', b'T', 4]) => return false,
            Some([0, 4, b'M', b'Q', b'T', b'T', 5]) => return true,
            _ => {}
        }
    }
    protocol == Protocol::V5
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes one packet with both decoders and compares them.
fn step(
    decoder: &mut Decoder,
    protocol: Protocol,
    ours_buf: &mut BytesMut,
    theirs_buf: &mut BytesMut,
) -> Verdict {
    let input = ours_buf.to_vec();
    assert_eq!(&input[..], &theirs_buf[..], "the two streams drifted apart");
    let v5 = oracle_is_v5(&input, protocol);
    let ours = decoder.decode(ours_buf);
    let ours_used = input.len() - ours_buf.len();
    let theirs = read_theirs(v5, theirs_buf);
    let theirs_used = input.len() - theirs_buf.len();
    let frame = Frame::parse(&input);
    let shown = input
        .get(..frame.as_ref().map_or(input.len(), |f| f.len))
        .unwrap_or(&input);
    let context = || {
        format!(
            "\n  version: {protocol:?} (mqttbytes {})\n  frame: {}\n  ours: {ours:?}\n  theirs: {theirs:?}",
            if v5 { "v5" } else { "v4" },
            hex(shown),
        )
    };
    match (&ours, &theirs) {
        (Err(DecodeError::PacketTooLarge { .. }), _) | (_, Outcome::TooLarge) => Verdict::TooLarge,
        (Ok(None), Outcome::NeedMore) => Verdict::NeedMore,
        (Ok(Some(packet)), Outcome::Packet(their_packet)) => {
            let Some(frame) = &frame else {
                panic!("a packet came out of an incomplete frame{}", context());
            };
            assert!(
                ours_used == frame.len && theirs_used == frame.len,
                "the decoders consumed {ours_used} and {theirs_used} bytes of a {}-byte frame{}",
                frame.len,
                context()
            );
            let their_norm = norm::from_theirs(their_packet);
            match classify(their_packet, &their_norm, frame.body) {
                Class::Exact => {}
                // D23: mqttbytes lost track of a valid property list; nothing to compare.
                Class::Diverged => return Verdict::Diverged,
                Class::Malformed(why) => {
                    panic!(
                        "we accepted a frame whose properties are malformed ({why}){}",
                        context()
                    )
                }
            }
            let version = match packet {
                Packet::Connect(c) => c.protocol,
                _ => protocol,
            };
            let our_norm = norm::from_ours(packet, version);
            assert!(
                our_norm == their_norm,
                "the decoders disagree on the meaning of a valid packet{}\n  our reading:   {our_norm:?}\n  their reading: {their_norm:?}",
                context()
            );
            Verdict::Agree(our_norm.packet_type)
        }
        (Err(e), Outcome::Packet(their_packet)) => {
            let Some(frame) = &frame else {
                panic!("mqttbytes decoded an incomplete frame{}", context());
            };
            if let Err(why) = justify_our_rejection(*e, frame, their_packet) {
                panic!(
                    "we rejected a frame that mqttbytes accepts, and no documented difference explains it: {why}{}",
                    context()
                );
            }
            Verdict::OursRejected(*e)
        }
        (Ok(Some(packet)), Outcome::Rejected(their_error)) => {
            let Some(frame) = &frame else {
                panic!("a packet came out of an incomplete frame{}", context());
            };
            if let Err(why) = justify_their_rejection(*their_error, frame, packet, v5) {
                panic!(
                    "we accepted a frame that mqttbytes rejects, and no documented difference explains it: {why}{}",
                    context()
                );
            }
            Verdict::TheirsRejected(*their_error)
        }
        // We see a malformed remaining length before the frame is complete.
        (
            Err(DecodeError::NonMinimalVariableInteger | DecodeError::MalformedVariableInteger),
            Outcome::NeedMore,
        ) => Verdict::BadLength,
        (Err(_), Outcome::Rejected(_)) => Verdict::BothRejected,
        (Ok(None), _) | (Ok(Some(_)), Outcome::NeedMore) | (Err(_), Outcome::NeedMore) => {
            panic!("the decoders frame the stream differently{}", context())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Property lists, walked from the raw frame.

/// How `mqttbytes`' reading of the property lists of a frame relates to the frame.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    /// Every property list is well-formed and `mqttbytes` read exactly its properties.
    Exact,
    /// A property list is malformed or breaks a rule of the standard (duplicates,
    /// non-minimal lengths): the packet is invalid, whatever else it holds (D2, D21, D22).
    Malformed(&'static str),
    /// The lists are well-formed but `mqttbytes` read something else (D23).
    Diverged,
}

/// The data type of a property identifier; `None` for identifiers MQTT 5 does not define.
fn kind(property: u8) -> Option<u8> {
    use id::*;
    Some(match property {
        PAYLOAD_FORMAT_INDICATOR
        | REQUEST_PROBLEM_INFORMATION
        | REQUEST_RESPONSE_INFORMATION
        | MAXIMUM_QOS
        | RETAIN_AVAILABLE
        | WILDCARD_SUBSCRIPTION_AVAILABLE
        | SUBSCRIPTION_IDENTIFIER_AVAILABLE
        | SHARED_SUBSCRIPTION_AVAILABLE => b'1',
        SERVER_KEEP_ALIVE | RECEIVE_MAXIMUM | TOPIC_ALIAS_MAXIMUM | TOPIC_ALIAS => b'2',
        MESSAGE_EXPIRY_INTERVAL
        | SESSION_EXPIRY_INTERVAL
        | WILL_DELAY_INTERVAL
        | MAXIMUM_PACKET_SIZE => b'4',
        SUBSCRIPTION_IDENTIFIER => b'v',
        CONTENT_TYPE
        | RESPONSE_TOPIC
        | ASSIGNED_CLIENT_IDENTIFIER
        | AUTHENTICATION_METHOD
        | RESPONSE_INFORMATION
        | SERVER_REFERENCE
        | REASON_STRING => b's',
        CORRELATION_DATA | AUTHENTICATION_DATA => b'b',
        USER_PROPERTY => b'p',
        _ => return None,
    })
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("property runs past its list");
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn int(&mut self, n: usize) -> Result<u64, &'static str> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn binary(&mut self) -> Result<&'a [u8], &'static str> {
        let len = self.int(2)? as usize;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, &'static str> {
        String::from_utf8(self.binary()?.to_vec()).map_err(|_| "string is not UTF-8")
    }
}

/// Walks one property list, independently of both decoders.
fn walk(list: &[u8], repeat_subscription_id: bool) -> Result<Props, &'static str> {
    let mut c = Cursor(list);
    let mut props = Props::new();
    while !c.0.is_empty() {
        let property = c.int(1)? as u8;
        let value = match kind(property).ok_or("unknown property")? {
            b'1' => Val::Int(c.int(1)?),
            b'2' => Val::Int(c.int(2)?),
            b'4' => Val::Int(c.int(4)?),
            b'v' => {
                let (v, n, minimal) = lenient_varint(c.0).ok_or("bad variable byte integer")?;
                if !minimal {
                    return Err("non-minimal variable byte integer");
                }
                c.take(n)?;
                Val::Int(v as u64)
            }
            b's' => Val::Str(c.string()?),
            b'b' => Val::Bin(c.binary()?.to_vec()),
            _ => Val::Pair(c.string()?, c.string()?),
        };
        let repeatable = property == id::USER_PROPERTY
            || (repeat_subscription_id && property == id::SUBSCRIPTION_IDENTIFIER);
        if !repeatable && props.iter().any(|(p, _)| *p == property) {
            return Err("duplicate property");
        }
        props.push((property, value));
    }
    norm::sort(&mut props);
    Ok(props)
}

/// Classifies the property list whose length starts at `body[offset]`; also returns the
/// offset just past the list.
fn section(body: &[u8], offset: usize, theirs: &Props, repeat_sub_id: bool) -> (usize, Class) {
    let Some((len, n, minimal)) = body.get(offset..).and_then(lenient_varint) else {
        return (0, Class::Malformed("no property length"));
    };
    if !minimal {
        return (0, Class::Malformed("non-minimal property length"));
    }
    let end = offset + n + len;
    let Some(list) = body.get(offset + n..end) else {
        return (0, Class::Malformed("property length past the packet"));
    };
    match walk(list, repeat_sub_id) {
        Err(why) => (end, Class::Malformed(why)),
        Ok(props) if props == *theirs => (end, Class::Exact),
        Ok(_) => (end, Class::Diverged),
    }
}

/// Where the property lists of an `mqttbytes` v5 packet start, and how its reading of them
/// relates to the frame. v4 packets have no properties.
fn classify(theirs: &Theirs, n: &Norm, body: &[u8]) -> Class {
    use v5::Packet as T;
    let Theirs::V5(packet) = theirs else {
        return Class::Exact;
    };
    let (_, class) = match &**packet {
        T::Connect(c) => {
            // name (6), level, flags, keep alive (2)
            let (end, class) = section(body, 10, &n.properties, false);
            match (&class, &n.will) {
                (Class::Exact, Some(will)) => {
                    section(body, end + 2 + c.client_id.len(), &will.properties, false)
                }
                _ => (end, class),
            }
        }
        T::ConnAck(_) => section(body, 2, &n.properties, false),
        T::Publish(p) => {
            let pkid = if p.qos == mqttbytes::QoS::AtMostOnce {
                0
            } else {
                2
            };
            section(body, 2 + p.topic.len() + pkid, &n.properties, true)
        }
        T::PubAck(_) | T::PubRec(_) | T::PubRel(_) | T::PubComp(_) if body.len() >= 4 => {
            section(body, 3, &n.properties, false)
        }
        T::Subscribe(_) | T::SubAck(_) | T::Unsubscribe(_) | T::UnsubAck(_) => {
            section(body, 2, &n.properties, false)
        }
        T::Disconnect(_) if body.len() >= 2 => section(body, 1, &n.properties, false),
        _ => (0, Class::Exact),
    };
    class
}

// ---------------------------------------------------------------------------------------
// Justifications.

/// An independent check of topic filter syntax: not empty [MQTT-4.7.3-1], `#` only as
/// the whole last level [MQTT-4.7.1-2], `+` only as a whole level [MQTT-4.7.1-3].
fn filter_valid(filter: &str) -> bool {
    let levels: Vec<&str> = filter.split('/').collect();
    !filter.is_empty()
        && levels.iter().enumerate().all(|(i, level)| {
            (!level.contains('#') || (*level == "#" && i + 1 == levels.len()))
                && (!level.contains('+') || *level == "+")
        })
}

/// An independent check of the MQTT 5 shared subscription form: a filter starting with
/// `$share/` needs a non-empty ShareName without wildcards [MQTT-4.8.2-1], then `/` and
/// a filter [MQTT-4.8.2-2]. Filters not starting with `$share/` are not shared.
fn shared_invalid(filter: &str) -> bool {
    let Some(rest) = filter.strip_prefix("$share/") else {
        return false;
    };
    match rest.split_once('/') {
        None => true,
        Some((group, filter)) => {
            group.is_empty() || group.contains(['+', '#']) || filter.is_empty()
        }
    }
}

/// Whether a property value is outside the range the standard gives it (D19).
fn value_invalid(property: u8, value: &Val) -> bool {
    use id::*;
    let Val::Int(v) = *value else {
        return false;
    };
    match property {
        PAYLOAD_FORMAT_INDICATOR
        | REQUEST_PROBLEM_INFORMATION
        | REQUEST_RESPONSE_INFORMATION
        | MAXIMUM_QOS
        | RETAIN_AVAILABLE
        | WILDCARD_SUBSCRIPTION_AVAILABLE
        | SUBSCRIPTION_IDENTIFIER_AVAILABLE
        | SHARED_SUBSCRIPTION_AVAILABLE => v > 1,
        RECEIVE_MAXIMUM | TOPIC_ALIAS | MAXIMUM_PACKET_SIZE | SUBSCRIPTION_IDENTIFIER => v == 0,
        _ => false,
    }
}

/// The topic names of a packet: PUBLISH topic, will topic, Response Topics.
fn topic_names(n: &Norm) -> Vec<&str> {
    let mut names: Vec<&str> = n.topic.iter().map(String::as_str).collect();
    if let Some(will) = &n.will {
        names.push(&will.topic);
    }
    for list in n.property_lists() {
        for (p, v) in list {
            if let (id::RESPONSE_TOPIC, Val::Str(s)) = (*p, v) {
                names.push(s);
            }
        }
    }
    names
}

/// The raw options bytes of a SUBSCRIBE that `mqttbytes` read (it masks reserved bits
/// off, so they are taken from the frame).
fn raw_subscription_options(body: &[u8], theirs: &Theirs) -> Vec<u8> {
    let (mut at, filters): (usize, Vec<&str>) = match theirs {
        Theirs::V4(v4::Packet::Subscribe(s)) => (2, s.filters.iter().map(|f| &*f.path).collect()),
        Theirs::V5(p) => match &**p {
            v5::Packet::Subscribe(s) => {
                let Some((len, n, _)) = body.get(2..).and_then(lenient_varint) else {
                    return Vec::new();
                };
                (2 + n + len, s.filters.iter().map(|f| &*f.path).collect())
            }
            _ => return Vec::new(),
        },
        Theirs::V4(_) => return Vec::new(),
    };
    let mut options = Vec::new();
    for filter in filters {
        at += 2 + filter.len();
        options.extend(body.get(at));
        at += 1;
    }
    options
}

/// Checks that `mqttbytes`' acceptance of a frame we rejected with `e` is one of its
/// documented laxities, and that the frame really breaks the rule `e` names.
fn justify_our_rejection(e: DecodeError, frame: &Frame<'_>, theirs: &Theirs) -> Result<(), String> {
    use DecodeError as E;
    let n = norm::from_theirs(theirs);
    let v5 = matches!(theirs, Theirs::V5(_));
    match classify(theirs, &n, frame.body) {
        Class::Exact => {}
        // D2, D21, D22: the standard makes the packet invalid; any rejection is right.
        Class::Malformed(_) => return Ok(()),
        // D23: mqttbytes' reading cannot serve as evidence.
        Class::Diverged => return Ok(()),
    }
    let packet_type = frame.packet_type();
    let flags = frame.header & 0x0F;
    let connect_flags = frame.body.get(7).copied().unwrap_or(0);
    let holds = match e {
        // D1
        E::InvalidHeaderFlags => {
            packet_type != 3
                && flags
                    != if matches!(packet_type, 6 | 8 | 10) {
                        2
                    } else {
                        0
                    }
        }
        // D2 (property lists are checked by `classify`)
        E::NonMinimalVariableInteger => !frame.minimal,
        // D3
        E::NullCharacter => n.strings().iter().any(|s| s.contains('\0')),
        // D4
        E::WildcardInTopicName => topic_names(&n).iter().any(|t| t.contains(['+', '#'])),
        // D5
        E::MissingTopicAlias => {
            let alias = n.properties.iter().any(|(p, _)| *p == id::TOPIC_ALIAS);
            v5 && packet_type == 3 && n.topic.as_deref() == Some("") && !alias
        }
        E::EmptyTopicName => {
            let alias = n.properties.iter().any(|(p, _)| *p == id::TOPIC_ALIAS);
            (n.topic.as_deref() == Some("") && !alias)
                || n.will.as_ref().is_some_and(|w| w.topic.is_empty())
                || topic_names(&n)
                    .iter()
                    .skip(usize::from(n.topic.is_some()))
                    .any(|t| t.is_empty())
        }
        // D6
        E::DupWithQoS0 => packet_type == 3 && n.dup && n.qos == 0,
        // D7
        E::ZeroPacketId => n.packet_id == Some(0),
        // D8
        E::InvalidTopicFilter => n
            .subscriptions
            .iter()
            .map(|(f, _)| f)
            .chain(&n.filters)
            .any(|f| !filter_valid(f)),
        // D9
        E::InvalidSharedSubscription => {
            v5 && n
                .subscriptions
                .iter()
                .map(|(f, _)| f)
                .chain(&n.filters)
                .any(|f| shared_invalid(f))
        }
        E::NoLocalOnSharedSubscription => {
            v5 && n
                .subscriptions
                .iter()
                .any(|(f, o)| o & 0b100 != 0 && f.starts_with("$share/"))
        }
        // D10
        E::InvalidSubscriptionOptions => {
            let reserved = if v5 { 0b1100_0000 } else { 0b1111_1100 };
            raw_subscription_options(frame.body, theirs)
                .iter()
                .any(|o| o & reserved != 0)
        }
        // D11
        E::NoTopicFilter => {
            matches!(packet_type, 8 | 10) && n.subscriptions.is_empty() && n.filters.is_empty()
        }
        // D12
        E::InvalidConnectFlags => packet_type == 1 && connect_flags & 1 != 0,
        // D14
        E::PasswordWithoutUsername => {
            packet_type == 1 && n.level == Some(4) && connect_flags & 0xC0 == 0x40
        }
        // D15
        E::EmptyClientId => {
            n.level == Some(4) && n.client_id.as_deref() == Some("") && !n.clean_start
        }
        // D16
        E::TrailingBytes => matches!(packet_type, 1 | 2 | 4 | 5 | 6 | 7 | 12 | 13 | 14),
        // D17
        E::InvalidConnAckFlags => {
            packet_type == 2 && frame.body.first().is_some_and(|f| f & 0xFE != 0)
        }
        // D18
        E::SessionPresentOnError => {
            n.session_present && n.reason_codes.first().is_some_and(|&c| c != 0)
        }
        // D19
        E::InvalidPropertyValue(p) => n
            .property_lists()
            .iter()
            .any(|list| list.iter().any(|(q, v)| *q == p && value_invalid(p, v))),
        // D20
        E::AuthDataWithoutMethod => n.property_lists().iter().any(|list| {
            list.iter().any(|(p, _)| *p == id::AUTHENTICATION_DATA)
                && !list.iter().any(|(p, _)| *p == id::AUTHENTICATION_METHOD)
        }),
        _ => false,
    };
    if holds {
        Ok(())
    } else {
        Err(format!("{e:?} is not explained by the frame"))
    }
}

/// Checks that `mqttbytes`' rejection of a frame we accepted is one of its documented
/// strictnesses or bugs.
fn justify_their_rejection(
    e: mqttbytes::Error,
    frame: &Frame<'_>,
    ours: &Packet,
    v5: bool,
) -> Result<(), String> {
    let holds = match ours {
        // D24
        Packet::Auth(_) => v5 && e == mqttbytes::Error::InvalidPacketType(15),
        // D25
        Packet::Disconnect(_) => v5 && frame.body.len() < 2,
        // D26
        Packet::Connect(c) => {
            e == mqttbytes::Error::TopicNotUtf8
                && c.password
                    .as_ref()
                    .is_some_and(|p| std::str::from_utf8(p).is_err())
        }
        _ => false,
    };
    if holds {
        Ok(())
    } else {
        Err(format!("mqttbytes error {e:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn independent_filter_checks() {
        for ok in ["#", "+", "a/#", "+/+", "/", "a//b", "$share", "$share/g/#"] {
            assert!(filter_valid(ok), "{ok}");
        }
        for bad in ["", "a#", "#/a", "a+", "a/b#", "++"] {
            assert!(!filter_valid(bad), "{bad}");
        }
        for ok in ["$share", "$shared/a", "$share/g/a", "$share/g//"] {
            assert!(!shared_invalid(ok), "{ok}");
        }
        for bad in [
            "$share/",
            "$share/g",
            "$share//a",
            "$share/+/a",
            "$share/g/",
        ] {
            assert!(shared_invalid(bad), "{bad}");
        }
    }

    #[test]
    fn property_walk() {
        assert_eq!(
            walk(b"\x01\x01\x26\x00\x01a\x00\x00\x0B\x05", true),
            Ok(vec![
                (1, Val::Int(1)),
                (0x0B, Val::Int(5)),
                (0x26, Val::Pair("a".into(), String::new()))
            ])
        );
        assert_eq!(walk(b"\x01\x01\x01\x00", false), Err("duplicate property"));
        assert_eq!(walk(b"\x0B\x01\x0B\x02", false), Err("duplicate property"));
        assert!(walk(b"\x0B\x01\x0B\x02", true).is_ok());
        assert_eq!(
            walk(b"\x0B\x80\x00", true),
            Err("non-minimal variable byte integer")
        );
        assert_eq!(walk(b"\x04\x00", true), Err("unknown property"));
        assert_eq!(
            walk(b"\x02\x00\x00", true),
            Err("property runs past its list")
        );
    }

    /// Valid packets both decoders read alike agree; the documented differences pass.
    #[test]
    fn known_cases() {
        use Verdict::*;
        use mqttbytes::Error as M;
        let cases: &[(&[u8], &[Verdict])] = &[
            // 3.1.1: PUBLISH QoS 1, then PINGREQ
            (
                b"\x00\x32\x07\x00\x01a\x00\x07hi\xC0\x00",
                &[Agree(3), Agree(12)],
            ),
            // 3.1.1 reserved flags on PUBREL (D1)
            (
                b"\x00\x60\x02\x00\x01",
                &[OursRejected(DecodeError::InvalidHeaderFlags)],
            ),
            // 3.1.1 wildcard in a topic name (D4)
            (
                b"\x00\x30\x04\x00\x01#x",
                &[OursRejected(DecodeError::WildcardInTopicName)],
            ),
            // 5.0 DISCONNECT without a body (D25), AUTH (D24)
            (b"\x01\xE0\x00", &[TheirsRejected(M::PayloadRequired)]),
            (b"\x01\xF0\x00", &[TheirsRejected(M::InvalidPacketType(15))]),
            // 5.0 duplicate property (D21)
            (
                b"\x01\x30\x09\x00\x01a\x04\x01\x00\x01\x01x",
                &[OursRejected(DecodeError::DuplicateProperty(1))],
            ),
            // 5.0 PUBLISH with two subscription ids and a PFI: mqttbytes miscounts (D23)
            (
                b"\x01\x30\x0B\x00\x01a\x06\x0B\x01\x0B\x02\x01\x00x",
                &[Diverged],
            ),
            // 3.1.1 CONNECT with a non-UTF-8 password (D26)
            (
                b"\x00\x10\x13\x00\x04MQTT\x04\xC2\x00\x3C\x00\x00\x00\x01u\x00\x02\xFF\xFE",
                &[TheirsRejected(M::TopicNotUtf8)],
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input), *expected, "{}", hex(input));
        }
    }

    /// Prints how the inputs in fuzz/corpus/differential_mqttbytes compare.
    #[test]
    #[ignore = "statistics over a local corpus"]
    fn corpus_statistics() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/differential_mqttbytes");
        let mut counts = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            for verdict in run(&std::fs::read(entry.unwrap().path()).unwrap()) {
                *counts.entry(format!("{verdict:?}")).or_insert(0u32) += 1;
            }
        }
        for (verdict, count) in counts {
            println!("{count:8} {verdict:?}");
        }
    }
}
