//! A normalized form of an MQTT packet, into which both our packets and `mqttbytes`'
//! packets convert, so that the differential target can compare their meaning.
//!
//! Normalizing loses only what one side cannot express (see the deliberate differences
//! listed in `fuzz_targets/differential_mqttbytes.rs`): `mqttbytes` has no empty user
//! name or password, so both sides map an empty one to "absent" (D13); properties are
//! compared as a list sorted by identifier, keeping the order of repeated ones (User
//! Property, Subscription Identifier), because the standard lets them come in any order.

use mqttbytes::{v4, v5};
use switchyard_mqtt::{
    Ack, AckProperties, ConnAck, Connect, Packet, Protocol, Publish, SubAck, Subscribe, UnsubAck,
    Unsubscribe, UserProperties,
};

/// MQTT 5 property identifiers (MQTT 5.0 section 2.2.2.2, table 2-4).
#[allow(missing_docs)]
pub mod id {
    pub const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
    pub const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
    pub const CONTENT_TYPE: u8 = 0x03;
    pub const RESPONSE_TOPIC: u8 = 0x08;
    pub const CORRELATION_DATA: u8 = 0x09;
    pub const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
    pub const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
    pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
    pub const SERVER_KEEP_ALIVE: u8 = 0x13;
    pub const AUTHENTICATION_METHOD: u8 = 0x15;
    pub const AUTHENTICATION_DATA: u8 = 0x16;
    pub const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
    pub const WILL_DELAY_INTERVAL: u8 = 0x18;
    pub const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
    pub const RESPONSE_INFORMATION: u8 = 0x1A;
    pub const SERVER_REFERENCE: u8 = 0x1C;
    pub const REASON_STRING: u8 = 0x1F;
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    pub const TOPIC_ALIAS: u8 = 0x23;
    pub const MAXIMUM_QOS: u8 = 0x24;
    pub const RETAIN_AVAILABLE: u8 = 0x25;
    pub const USER_PROPERTY: u8 = 0x26;
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
    pub const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;
}

/// One property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// Byte, Two Byte Integer, Four Byte Integer or Variable Byte Integer.
    Int(u64),
    /// UTF-8 Encoded String.
    Str(String),
    /// Binary Data.
    Bin(Vec<u8>),
    /// UTF-8 String Pair (User Property).
    Pair(String, String),
}

/// A property list: `(identifier, value)`, stably sorted by identifier.
pub type Props = Vec<(u8, Val)>;

/// A will message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    /// Will topic.
    pub topic: String,
    /// Will payload.
    pub payload: Vec<u8>,
    /// Will QoS.
    pub qos: u8,
    /// Will retain.
    pub retain: bool,
    /// Will properties (MQTT 5).
    pub properties: Props,
}

/// Every field any packet has; a packet leaves the fields it lacks at their default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Norm {
    /// Control packet type (1-15).
    pub packet_type: u8,
    /// PUBLISH DUP.
    pub dup: bool,
    /// PUBLISH QoS.
    pub qos: u8,
    /// PUBLISH RETAIN.
    pub retain: bool,
    /// Packet identifier, where the packet has one (0 is kept: `mqttbytes` allows it).
    pub packet_id: Option<u16>,
    /// PUBLISH topic name.
    pub topic: Option<String>,
    /// PUBLISH payload.
    pub payload: Option<Vec<u8>>,
    /// CONNECT protocol level.
    pub level: Option<u8>,
    /// CONNECT Clean Session / Clean Start.
    pub clean_start: bool,
    /// CONNECT keep alive.
    pub keep_alive: u16,
    /// CONNECT client identifier.
    pub client_id: Option<String>,
    /// CONNECT will.
    pub will: Option<Box<Will>>,
    /// CONNECT user name; empty counts as absent (D13).
    pub username: Option<String>,
    /// CONNECT password; empty counts as absent (D13).
    pub password: Option<Vec<u8>>,
    /// SUBSCRIBE filters with their options byte.
    pub subscriptions: Vec<(String, u8)>,
    /// UNSUBSCRIBE filters.
    pub filters: Vec<String>,
    /// CONNACK Session Present.
    pub session_present: bool,
    /// Reason codes (MQTT 5), CONNACK return code and SUBACK return codes (3.1.1).
    pub reason_codes: Vec<u8>,
    /// Properties of the packet (MQTT 5).
    pub properties: Props,
}

impl Norm {
    /// Every UTF-8 string the packet carries, except the password (Binary Data).
    pub fn strings(&self) -> Vec<&str> {
        let mut out = Vec::new();
        out.extend(self.topic.as_deref());
        out.extend(self.client_id.as_deref());
        out.extend(self.username.as_deref());
        out.extend(self.subscriptions.iter().map(|(f, _)| f.as_str()));
        out.extend(self.filters.iter().map(String::as_str));
        let mut props: Vec<&Props> = vec![&self.properties];
        if let Some(will) = &self.will {
            out.push(&will.topic);
            props.push(&will.properties);
        }
        for list in props {
            for (_, v) in list {
                match v {
                    Val::Str(s) => out.push(s),
                    Val::Pair(a, b) => {
                        out.push(a);
                        out.push(b);
                    }
                    Val::Int(_) | Val::Bin(_) => {}
                }
            }
        }
        out
    }

    /// Every property list of the packet: the packet's, then the will's.
    pub fn property_lists(&self) -> Vec<&Props> {
        let mut lists = vec![&self.properties];
        if let Some(will) = &self.will {
            lists.push(&will.properties);
        }
        lists
    }
}

/// Builds a property list.
#[derive(Default)]
struct P(Props);

impl P {
    fn int(mut self, id: u8, v: Option<impl Into<u64>>) -> Self {
        if let Some(v) = v {
            self.0.push((id, Val::Int(v.into())));
        }
        self
    }

    fn str(mut self, id: u8, v: Option<&str>) -> Self {
        if let Some(v) = v {
            self.0.push((id, Val::Str(v.to_owned())));
        }
        self
    }

    fn bin(mut self, id: u8, v: Option<&[u8]>) -> Self {
        if let Some(v) = v {
            self.0.push((id, Val::Bin(v.to_vec())));
        }
        self
    }

    fn user<S: AsRef<str>>(mut self, pairs: &[(S, S)]) -> Self {
        for (k, v) in pairs {
            self.0.push((
                id::USER_PROPERTY,
                Val::Pair(k.as_ref().to_owned(), v.as_ref().to_owned()),
            ));
        }
        self
    }

    fn done(mut self) -> Props {
        sort(&mut self.0);
        self.0
    }
}

/// Sorts a property list by identifier, keeping the order of equal identifiers.
pub fn sort(props: &mut Props) {
    props.sort_by_key(|(id, _)| *id);
}

fn non_empty_str(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

fn non_empty_bytes(b: Option<&[u8]>) -> Option<Vec<u8>> {
    b.filter(|b| !b.is_empty()).map(<[u8]>::to_vec)
}

fn user_pairs(user: &UserProperties) -> Vec<(&str, &str)> {
    user.iter().map(|(k, v)| (&**k, &**v)).collect()
}

// ---------------------------------------------------------------------------------------
// Ours.

/// Normalizes one of our packets, decoded in `protocol` (CONNECT carries its own).
pub fn from_ours(packet: &Packet, protocol: Protocol) -> Norm {
    let v5 = protocol == Protocol::V5;
    let mut n = Norm {
        packet_type: packet.packet_type() as u8,
        ..Norm::default()
    };
    match packet {
        Packet::Connect(c) => connect_ours(c, &mut n),
        Packet::ConnAck(c) => connack_ours(c, v5, &mut n),
        Packet::Publish(p) => publish_ours(p, &mut n),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            ack_ours(a, v5, &mut n);
        }
        Packet::Subscribe(s) => subscribe_ours(s, v5, &mut n),
        Packet::SubAck(s) => suback_ours(s, v5, &mut n),
        Packet::Unsubscribe(u) => unsubscribe_ours(u, &mut n),
        Packet::UnsubAck(u) => unsuback_ours(u, &mut n),
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => {
            if v5 {
                n.reason_codes = vec![d.reason_code as u8];
                let p = &d.properties;
                n.properties = P::default()
                    .int(id::SESSION_EXPIRY_INTERVAL, p.session_expiry_interval)
                    .str(id::REASON_STRING, p.reason_string.as_deref())
                    .user(&user_pairs(&p.user_properties))
                    .str(id::SERVER_REFERENCE, p.server_reference.as_deref())
                    .done();
            }
        }
        Packet::Auth(a) => {
            n.reason_codes = vec![a.reason_code as u8];
            let p = &a.properties;
            n.properties = P::default()
                .str(
                    id::AUTHENTICATION_METHOD,
                    p.authentication_method.as_deref(),
                )
                .bin(id::AUTHENTICATION_DATA, p.authentication_data.as_deref())
                .str(id::REASON_STRING, p.reason_string.as_deref())
                .user(&user_pairs(&p.user_properties))
                .done();
        }
    }
    n
}

fn connect_ours(c: &Connect, n: &mut Norm) {
    n.level = Some(c.protocol.level());
    n.clean_start = c.clean_start;
    n.keep_alive = c.keep_alive;
    n.client_id = Some(c.client_id.to_string());
    n.username = non_empty_str(c.username.as_deref());
    n.password = non_empty_bytes(c.password.as_deref());
    n.will = c.will.as_ref().map(|w| {
        let p = &w.properties;
        Box::new(Will {
            topic: w.topic.as_str().to_owned(),
            payload: w.payload.to_vec(),
            qos: w.qos as u8,
            retain: w.retain,
            properties: P::default()
                .int(id::WILL_DELAY_INTERVAL, p.will_delay_interval)
                .int(
                    id::PAYLOAD_FORMAT_INDICATOR,
                    p.payload_format_indicator.map(|f| f as u8),
                )
                .int(id::MESSAGE_EXPIRY_INTERVAL, p.message_expiry_interval)
                .str(id::CONTENT_TYPE, p.content_type.as_deref())
                .str(
                    id::RESPONSE_TOPIC,
                    p.response_topic.as_ref().map(|t| t.as_str()),
                )
                .bin(id::CORRELATION_DATA, p.correlation_data.as_deref())
                .user(&user_pairs(&p.user_properties))
                .done(),
        })
    });
    let p = &c.properties;
    n.properties = P::default()
        .int(id::SESSION_EXPIRY_INTERVAL, p.session_expiry_interval)
        .int(id::RECEIVE_MAXIMUM, p.receive_maximum.map(|v| v.get()))
        .int(
            id::MAXIMUM_PACKET_SIZE,
            p.maximum_packet_size.map(|v| v.get()),
        )
        .int(id::TOPIC_ALIAS_MAXIMUM, p.topic_alias_maximum)
        .int(
            id::REQUEST_RESPONSE_INFORMATION,
            p.request_response_information.map(u8::from),
        )
        .int(
            id::REQUEST_PROBLEM_INFORMATION,
            p.request_problem_information.map(u8::from),
        )
        .user(&user_pairs(&p.user_properties))
        .str(
            id::AUTHENTICATION_METHOD,
            p.authentication_method.as_deref(),
        )
        .bin(id::AUTHENTICATION_DATA, p.authentication_data.as_deref())
        .done();
}

fn connack_ours(c: &ConnAck, v5: bool, n: &mut Norm) {
    n.session_present = c.session_present;
    n.reason_codes = vec![if v5 {
        c.reason_code as u8
    } else {
        c.reason_code.to_v3_connack()
    }];
    let p = &c.properties;
    n.properties = P::default()
        .int(id::SESSION_EXPIRY_INTERVAL, p.session_expiry_interval)
        .int(id::RECEIVE_MAXIMUM, p.receive_maximum.map(|v| v.get()))
        .int(id::MAXIMUM_QOS, p.maximum_qos.map(|q| q as u8))
        .int(id::RETAIN_AVAILABLE, p.retain_available.map(u8::from))
        .int(
            id::MAXIMUM_PACKET_SIZE,
            p.maximum_packet_size.map(|v| v.get()),
        )
        .str(
            id::ASSIGNED_CLIENT_IDENTIFIER,
            p.assigned_client_identifier.as_deref(),
        )
        .int(id::TOPIC_ALIAS_MAXIMUM, p.topic_alias_maximum)
        .str(id::REASON_STRING, p.reason_string.as_deref())
        .user(&user_pairs(&p.user_properties))
        .int(
            id::WILDCARD_SUBSCRIPTION_AVAILABLE,
            p.wildcard_subscription_available.map(u8::from),
        )
        .int(
            id::SUBSCRIPTION_IDENTIFIER_AVAILABLE,
            p.subscription_identifiers_available.map(u8::from),
        )
        .int(
            id::SHARED_SUBSCRIPTION_AVAILABLE,
            p.shared_subscription_available.map(u8::from),
        )
        .int(id::SERVER_KEEP_ALIVE, p.server_keep_alive)
        .str(id::RESPONSE_INFORMATION, p.response_information.as_deref())
        .str(id::SERVER_REFERENCE, p.server_reference.as_deref())
        .str(
            id::AUTHENTICATION_METHOD,
            p.authentication_method.as_deref(),
        )
        .bin(id::AUTHENTICATION_DATA, p.authentication_data.as_deref())
        .done();
}

fn publish_ours(p: &Publish, n: &mut Norm) {
    n.dup = p.dup;
    n.qos = p.qos as u8;
    n.retain = p.retain;
    n.packet_id = p.packet_id.map(|id| id.get());
    n.topic = Some(p.topic.as_str().to_owned());
    n.payload = Some(p.payload.to_vec());
    let q = &p.properties;
    let mut props = P::default()
        .int(
            id::PAYLOAD_FORMAT_INDICATOR,
            q.payload_format_indicator.map(|f| f as u8),
        )
        .int(id::MESSAGE_EXPIRY_INTERVAL, q.message_expiry_interval)
        .int(id::TOPIC_ALIAS, q.topic_alias.map(|v| v.get()))
        .str(
            id::RESPONSE_TOPIC,
            q.response_topic.as_ref().map(|t| t.as_str()),
        )
        .bin(id::CORRELATION_DATA, q.correlation_data.as_deref())
        .user(&user_pairs(&q.user_properties))
        .str(id::CONTENT_TYPE, q.content_type.as_deref());
    for sub_id in &q.subscription_identifiers {
        props = props.int(id::SUBSCRIPTION_IDENTIFIER, Some(sub_id.get()));
    }
    n.properties = props.done();
}

fn ack_properties_ours(p: &AckProperties) -> Props {
    P::default()
        .str(id::REASON_STRING, p.reason_string.as_deref())
        .user(&user_pairs(&p.user_properties))
        .done()
}

fn ack_ours(a: &Ack, v5: bool, n: &mut Norm) {
    n.packet_id = Some(a.packet_id.get());
    if v5 {
        n.reason_codes = vec![a.reason_code as u8];
        n.properties = ack_properties_ours(&a.properties);
    }
}

fn subscribe_ours(s: &Subscribe, v5: bool, n: &mut Norm) {
    n.packet_id = Some(s.packet_id.get());
    n.subscriptions = s
        .subscriptions
        .iter()
        .map(|sub| {
            let o = sub.options;
            let byte = if v5 {
                o.qos as u8
                    | u8::from(o.no_local) << 2
                    | u8::from(o.retain_as_published) << 3
                    | (o.retain_handling as u8) << 4
            } else {
                o.qos as u8
            };
            (sub.filter.as_str().to_owned(), byte)
        })
        .collect();
    let p = &s.properties;
    n.properties = P::default()
        .int(
            id::SUBSCRIPTION_IDENTIFIER,
            p.subscription_identifier.map(|v| v.get()),
        )
        .user(&user_pairs(&p.user_properties))
        .done();
}

fn suback_ours(s: &SubAck, v5: bool, n: &mut Norm) {
    n.packet_id = Some(s.packet_id.get());
    n.reason_codes = s
        .reason_codes
        .iter()
        .map(|&c| if v5 { c as u8 } else { c.to_v3_suback() })
        .collect();
    n.properties = ack_properties_ours(&s.properties);
}

fn unsubscribe_ours(u: &Unsubscribe, n: &mut Norm) {
    n.packet_id = Some(u.packet_id.get());
    n.filters = u.filters.iter().map(|f| f.as_str().to_owned()).collect();
    n.properties = P::default()
        .user(&user_pairs(&u.properties.user_properties))
        .done();
}

fn unsuback_ours(u: &UnsubAck, n: &mut Norm) {
    n.packet_id = Some(u.packet_id.get());
    n.reason_codes = u.reason_codes.iter().map(|&c| c as u8).collect();
    n.properties = ack_properties_ours(&u.properties);
}

// ---------------------------------------------------------------------------------------
// mqttbytes.

/// A packet decoded by `mqttbytes`, by the module (v4 or v5) that decoded it.
#[derive(Debug, Clone, PartialEq)]
pub enum Theirs {
    /// From `mqttbytes::v4::read`.
    V4(v4::Packet),
    /// From `mqttbytes::v5::read`.
    V5(Box<v5::Packet>),
}

fn qos_u8(q: mqttbytes::QoS) -> u8 {
    q as u8
}

/// Normalizes a packet decoded by `mqttbytes`.
pub fn from_theirs(packet: &Theirs) -> Norm {
    match packet {
        Theirs::V4(p) => from_v4(p),
        Theirs::V5(p) => from_v5(p),
    }
}

fn from_v4(packet: &v4::Packet) -> Norm {
    use v4::Packet as T;
    let mut n = Norm::default();
    match packet {
        T::Connect(c) => {
            n.packet_type = 1;
            n.level = Some(match c.protocol {
                mqttbytes::Protocol::V4 => 4,
                mqttbytes::Protocol::V5 => 5,
            });
            n.clean_start = c.clean_session;
            n.keep_alive = c.keep_alive;
            n.client_id = Some(c.client_id.clone());
            n.will = c.last_will.as_ref().map(|w| {
                Box::new(Will {
                    topic: w.topic.clone(),
                    payload: w.message.to_vec(),
                    qos: qos_u8(w.qos),
                    retain: w.retain,
                    properties: Props::new(),
                })
            });
            if let Some(login) = &c.login {
                n.username = non_empty_str(Some(&login.username));
                n.password = non_empty_bytes(Some(login.password.as_bytes()));
            }
        }
        T::ConnAck(c) => {
            n.packet_type = 2;
            n.session_present = c.session_present;
            n.reason_codes = vec![c.code as u8];
        }
        T::Publish(p) => {
            n.packet_type = 3;
            n.dup = p.dup;
            n.qos = qos_u8(p.qos);
            n.retain = p.retain;
            n.packet_id = (p.qos != mqttbytes::QoS::AtMostOnce).then_some(p.pkid);
            n.topic = Some(p.topic.clone());
            n.payload = Some(p.payload.to_vec());
        }
        T::PubAck(a) => (n.packet_type, n.packet_id) = (4, Some(a.pkid)),
        T::PubRec(a) => (n.packet_type, n.packet_id) = (5, Some(a.pkid)),
        T::PubRel(a) => (n.packet_type, n.packet_id) = (6, Some(a.pkid)),
        T::PubComp(a) => (n.packet_type, n.packet_id) = (7, Some(a.pkid)),
        T::Subscribe(s) => {
            n.packet_type = 8;
            n.packet_id = Some(s.pkid);
            n.subscriptions = s
                .filters
                .iter()
                .map(|f| (f.path.clone(), qos_u8(f.qos)))
                .collect();
        }
        T::SubAck(s) => {
            n.packet_type = 9;
            n.packet_id = Some(s.pkid);
            n.reason_codes = s
                .return_codes
                .iter()
                .map(|c| match c {
                    v4::SubscribeReasonCode::Success(q) => qos_u8(*q),
                    v4::SubscribeReasonCode::Failure => 0x80,
                })
                .collect();
        }
        T::Unsubscribe(u) => {
            n.packet_type = 10;
            n.packet_id = Some(u.pkid);
            n.filters.clone_from(&u.topics);
        }
        T::UnsubAck(u) => (n.packet_type, n.packet_id) = (11, Some(u.pkid)),
        T::PingReq => n.packet_type = 12,
        T::PingResp => n.packet_type = 13,
        T::Disconnect => n.packet_type = 14,
    }
    n
}

fn user_v5(user: &[(String, String)]) -> Vec<(&str, &str)> {
    user.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn ack_props_v5(reason_string: Option<&String>, user: &[(String, String)]) -> Props {
    P::default()
        .str(id::REASON_STRING, reason_string.map(String::as_str))
        .user(&user_v5(user))
        .done()
}

fn from_v5(packet: &v5::Packet) -> Norm {
    use v5::Packet as T;
    let mut n = Norm::default();
    match packet {
        T::Connect(c) => connect_v5(c, &mut n),
        T::ConnAck(c) => {
            n.packet_type = 2;
            n.session_present = c.session_present;
            n.reason_codes = vec![c.code as u8];
            if let Some(p) = &c.properties {
                n.properties = P::default()
                    .int(id::SESSION_EXPIRY_INTERVAL, p.session_expiry_interval)
                    .int(id::RECEIVE_MAXIMUM, p.receive_max)
                    .int(id::MAXIMUM_QOS, p.max_qos)
                    .int(id::RETAIN_AVAILABLE, p.retain_available)
                    .int(id::MAXIMUM_PACKET_SIZE, p.max_packet_size)
                    .str(
                        id::ASSIGNED_CLIENT_IDENTIFIER,
                        p.assigned_client_identifier.as_deref(),
                    )
                    .int(id::TOPIC_ALIAS_MAXIMUM, p.topic_alias_max)
                    .str(id::REASON_STRING, p.reason_string.as_deref())
                    .user(&user_v5(&p.user_properties))
                    .int(
                        id::WILDCARD_SUBSCRIPTION_AVAILABLE,
                        p.wildcard_subscription_available,
                    )
                    .int(
                        id::SUBSCRIPTION_IDENTIFIER_AVAILABLE,
                        p.subscription_identifiers_available,
                    )
                    .int(
                        id::SHARED_SUBSCRIPTION_AVAILABLE,
                        p.shared_subscription_available,
                    )
                    .int(id::SERVER_KEEP_ALIVE, p.server_keep_alive)
                    .str(id::RESPONSE_INFORMATION, p.response_information.as_deref())
                    .str(id::SERVER_REFERENCE, p.server_reference.as_deref())
                    .str(
                        id::AUTHENTICATION_METHOD,
                        p.authentication_method.as_deref(),
                    )
                    .bin(id::AUTHENTICATION_DATA, p.authentication_data.as_deref())
                    .done();
            }
        }
        T::Publish(p) => {
            n.packet_type = 3;
            n.dup = p.dup;
            n.qos = qos_u8(p.qos);
            n.retain = p.retain;
            n.packet_id = (p.qos != mqttbytes::QoS::AtMostOnce).then_some(p.pkid);
            n.topic = Some(p.topic.clone());
            n.payload = Some(p.payload.to_vec());
            if let Some(q) = &p.properties {
                let mut props = P::default()
                    .int(id::PAYLOAD_FORMAT_INDICATOR, q.payload_format_indicator)
                    .int(id::MESSAGE_EXPIRY_INTERVAL, q.message_expiry_interval)
                    .int(id::TOPIC_ALIAS, q.topic_alias)
                    .str(id::RESPONSE_TOPIC, q.response_topic.as_deref())
                    .bin(id::CORRELATION_DATA, q.correlation_data.as_deref())
                    .user(&user_v5(&q.user_properties))
                    .str(id::CONTENT_TYPE, q.content_type.as_deref());
                for &sub_id in &q.subscription_identifiers {
                    props = props.int(id::SUBSCRIPTION_IDENTIFIER, Some(sub_id as u64));
                }
                n.properties = props.done();
            }
        }
        T::PubAck(a) => {
            (n.packet_type, n.packet_id) = (4, Some(a.pkid));
            n.reason_codes = vec![a.reason as u8];
            if let Some(p) = &a.properties {
                n.properties = ack_props_v5(p.reason_string.as_ref(), &p.user_properties);
            }
        }
        T::PubRec(a) => {
            (n.packet_type, n.packet_id) = (5, Some(a.pkid));
            n.reason_codes = vec![a.reason as u8];
            if let Some(p) = &a.properties {
                n.properties = ack_props_v5(p.reason_string.as_ref(), &p.user_properties);
            }
        }
        T::PubRel(a) => {
            (n.packet_type, n.packet_id) = (6, Some(a.pkid));
            n.reason_codes = vec![a.reason as u8];
            if let Some(p) = &a.properties {
                n.properties = ack_props_v5(p.reason_string.as_ref(), &p.user_properties);
            }
        }
        T::PubComp(a) => {
            (n.packet_type, n.packet_id) = (7, Some(a.pkid));
            n.reason_codes = vec![a.reason as u8];
            if let Some(p) = &a.properties {
                n.properties = ack_props_v5(p.reason_string.as_ref(), &p.user_properties);
            }
        }
        T::Subscribe(s) => {
            n.packet_type = 8;
            n.packet_id = Some(s.pkid);
            n.subscriptions = s
                .filters
                .iter()
                .map(|f| {
                    let rh = match f.retain_forward_rule {
                        v5::RetainForwardRule::OnEverySubscribe => 0,
                        v5::RetainForwardRule::OnNewSubscribe => 1,
                        v5::RetainForwardRule::Never => 2,
                    };
                    let byte = qos_u8(f.qos)
                        | u8::from(f.nolocal) << 2
                        | u8::from(f.preserve_retain) << 3
                        | rh << 4;
                    (f.path.clone(), byte)
                })
                .collect();
            if let Some(p) = &s.properties {
                n.properties = P::default()
                    .int(id::SUBSCRIPTION_IDENTIFIER, p.id.map(|v| v as u64))
                    .user(&user_v5(&p.user_properties))
                    .done();
            }
        }
        T::SubAck(s) => {
            n.packet_type = 9;
            n.packet_id = Some(s.pkid);
            n.reason_codes = s.return_codes.iter().map(|&c| c as u8).collect();
            if let Some(p) = &s.properties {
                n.properties = ack_props_v5(p.reason_string.as_ref(), &p.user_properties);
            }
        }
        T::Unsubscribe(u) => {
            n.packet_type = 10;
            n.packet_id = Some(u.pkid);
            n.filters.clone_from(&u.filters);
            if let Some(p) = &u.properties {
                n.properties = P::default().user(&user_v5(&p.user_properties)).done();
            }
        }
        T::UnsubAck(u) => {
            n.packet_type = 11;
            n.packet_id = Some(u.pkid);
            n.reason_codes = u.reasons.iter().map(|&c| c as u8).collect();
            if let Some(p) = &u.properties {
                n.properties = ack_props_v5(p.reason_string.as_ref(), &p.user_properties);
            }
        }
        T::PingReq => n.packet_type = 12,
        T::PingResp => n.packet_type = 13,
        T::Disconnect(d) => {
            n.packet_type = 14;
            n.reason_codes = vec![d.reason_code as u8];
            if let Some(p) = &d.properties {
                n.properties = P::default()
                    .int(id::SESSION_EXPIRY_INTERVAL, p.session_expiry_interval)
                    .str(id::REASON_STRING, p.reason_string.as_deref())
                    .user(&user_v5(&p.user_properties))
                    .str(id::SERVER_REFERENCE, p.server_reference.as_deref())
                    .done();
            }
        }
    }
    n
}

fn connect_v5(c: &v5::Connect, n: &mut Norm) {
    n.packet_type = 1;
    n.level = Some(match c.protocol {
        mqttbytes::Protocol::V4 => 4,
        mqttbytes::Protocol::V5 => 5,
    });
    n.clean_start = c.clean_session;
    n.keep_alive = c.keep_alive;
    n.client_id = Some(c.client_id.clone());
    n.will = c.last_will.as_ref().map(|w| {
        let properties = w.properties.as_ref().map_or_else(Props::new, |p| {
            P::default()
                .int(id::WILL_DELAY_INTERVAL, p.delay_interval)
                .int(id::PAYLOAD_FORMAT_INDICATOR, p.payload_format_indicator)
                .int(id::MESSAGE_EXPIRY_INTERVAL, p.message_expiry_interval)
                .str(id::CONTENT_TYPE, p.content_type.as_deref())
                .str(id::RESPONSE_TOPIC, p.response_topic.as_deref())
                .bin(id::CORRELATION_DATA, p.correlation_data.as_deref())
                .user(&user_v5(&p.user_properties))
                .done()
        });
        Box::new(Will {
            topic: w.topic.clone(),
            payload: w.message.to_vec(),
            qos: qos_u8(w.qos),
            retain: w.retain,
            properties,
        })
    });
    if let Some(login) = &c.login {
        n.username = non_empty_str(Some(&login.username));
        n.password = non_empty_bytes(Some(login.password.as_bytes()));
    }
    if let Some(p) = &c.properties {
        n.properties = P::default()
            .int(id::SESSION_EXPIRY_INTERVAL, p.session_expiry_interval)
            .int(id::RECEIVE_MAXIMUM, p.receive_maximum)
            .int(id::MAXIMUM_PACKET_SIZE, p.max_packet_size)
            .int(id::TOPIC_ALIAS_MAXIMUM, p.topic_alias_max)
            .int(id::REQUEST_RESPONSE_INFORMATION, p.request_response_info)
            .int(id::REQUEST_PROBLEM_INFORMATION, p.request_problem_info)
            .user(&user_v5(&p.user_properties))
            .str(
                id::AUTHENTICATION_METHOD,
                p.authentication_method.as_deref(),
            )
            .bin(id::AUTHENTICATION_DATA, p.authentication_data.as_deref())
            .done();
    }
}
