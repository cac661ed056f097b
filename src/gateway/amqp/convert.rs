//! AMQP field tables and basic properties <-> the core's, both ways, so that AMQP,
//! STOMP and MQTT 5 clients see each other's metadata as RabbitMQ's plugins show it:
//! `content-type`, `correlation-id`, `reply-to`, `expiration` (milliseconds <-> the
//! message expiry), string-ish `headers` <-> user properties, and the other basic
//! properties as the user properties RabbitMQ's STOMP plugin names them by.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use bytestring::ByteString;
use switchyard_amqp::{BasicProperties, FieldTable, FieldValue, LongString, ShortString};
use switchyard_mqtt::QoS;

use crate::core::exchange::{FieldTable as CoreTable, FieldValue as CoreValue};
use crate::core::mapping::{mqtt_topic_to_routing_key, routing_key_to_mqtt_topic};
use crate::core::message::{Message, Origin, Properties};

/// User properties that carry basic properties without a core field of their own.
const MESSAGE_ID: &str = "amqp-message-id";
const APP_ID: &str = "app-id";
const CONTENT_ENCODING: &str = "content-encoding";
const PERSISTENT: &str = "persistent";
const PRIORITY: &str = "priority";
const TIMESTAMP: &str = "timestamp";
const TYPE: &str = "type";
const USER_ID: &str = "user-id";
const REPLY_TO: &str = "reply-to";

/// Every user property name that maps back to a basic property.
const PROPERTY_NAMES: [&str; 9] = [
    MESSAGE_ID,
    APP_ID,
    CONTENT_ENCODING,
    PERSISTENT,
    PRIORITY,
    TIMESTAMP,
    TYPE,
    USER_ID,
    REPLY_TO,
];

/// A short string of `text`, cut to 255 octets at a character boundary.
pub(super) fn short(text: &str) -> ShortString {
    let mut end = text.len().min(ShortString::MAX_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    ShortString::try_from(text.get(..end).unwrap_or_default()).unwrap_or(ShortString::EMPTY)
}

/// An AMQP field table as the core's (names that are not UTF-8 are dropped).
pub(super) fn core_table(table: &FieldTable) -> CoreTable {
    table
        .iter()
        .filter_map(|(name, value)| Some((name.as_str()?, core_value(value))))
        .collect()
}

fn core_value(value: &FieldValue) -> CoreValue {
    match value {
        FieldValue::Boolean(b) => CoreValue::Bool(*b),
        FieldValue::Float(f) => CoreValue::Float(f64::from(*f)),
        FieldValue::Double(d) => CoreValue::Float(*d),
        FieldValue::Decimal { scale, value } => CoreValue::Decimal {
            scale: *scale,
            value: *value,
        },
        FieldValue::LongString(s) => CoreValue::Str(s.clone().into_bytes()),
        FieldValue::ByteArray(b) => CoreValue::Bytes(b.clone()),
        FieldValue::Array(items) => CoreValue::Array(items.iter().map(core_value).collect()),
        FieldValue::Timestamp(t) => CoreValue::Timestamp(*t),
        FieldValue::Table(t) => CoreValue::Table(core_table(t)),
        FieldValue::Void => CoreValue::Void,
        other => other.as_i64().map_or(CoreValue::Void, CoreValue::Int),
    }
}

/// The text of a header value that reads as a string: long strings, numbers, booleans.
fn header_text(value: &FieldValue) -> Option<String> {
    match value {
        FieldValue::LongString(s) => s.as_str().map(str::to_owned),
        FieldValue::Boolean(b) => Some(b.to_string()),
        FieldValue::Float(f) => Some(f.to_string()),
        FieldValue::Double(d) => Some(d.to_string()),
        FieldValue::Timestamp(t) => Some(t.to_string()),
        other => other.as_i64().map(|n| n.to_string()),
    }
}

/// The core message a basic.publish carries. AMQP messages are at-least-once: MQTT subscribers get up to QoS 1.
pub(super) fn message_from_publish(
    exchange: &ShortString,
    routing_key: &str,
    properties: &BasicProperties,
    body: Bytes,
    origin: Origin,
) -> Message {
    let p = properties;
    let text = |s: &Option<ShortString>| s.as_ref().and_then(|s| s.as_str()).map(ByteString::from);
    let mut core = Properties {
        content_type: text(&p.content_type),
        correlation_data: p
            .correlation_id
            .as_ref()
            .map(|c| Bytes::copy_from_slice(c.as_bytes())),
        ..Properties::default()
    };
    // `expiration` is milliseconds as text; the core's expiry counts whole seconds.
    let expiration_ms = text(&p.expiration).and_then(|v| v.trim().parse::<u64>().ok());
    core.message_expiry_interval =
        expiration_ms.map(|ms| u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX));
    let mut user = Vec::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            user.push((ByteString::from(name), ByteString::from(value)));
        }
    };
    let string = |s: &Option<ShortString>| text(s).map(|s| s.to_string());
    put(REPLY_TO, string(&p.reply_to));
    put(MESSAGE_ID, string(&p.message_id));
    put(APP_ID, string(&p.app_id));
    put(CONTENT_ENCODING, string(&p.content_encoding));
    put(TYPE, string(&p.kind));
    put(USER_ID, string(&p.user_id));
    put(
        PERSISTENT,
        (p.delivery_mode == Some(2)).then(|| "true".to_owned()),
    );
    put(PRIORITY, p.priority.map(|n| n.to_string()));
    put(TIMESTAMP, p.timestamp.map(|n| n.to_string()));
    if let Some(headers) = &p.headers {
        for (name, value) in headers.iter() {
            if let (Some(name), Some(value)) = (name.as_str(), header_text(value)) {
                put(name, Some(value));
            }
        }
    }
    core.user_properties = user;
    // The topic holds the key in MQTT form, as amq.topic publishes do, so that a
    // delivery shows the key it was published with.
    let topic = routing_key_to_mqtt_topic(routing_key).map_or_else(
        |_| ByteString::from(routing_key),
        |t| ByteString::from(t.as_ref()),
    );
    Message {
        topic,
        payload: body,
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: core,
        origin,
        received_at: Instant::now(),
        pressure: None,
        exchange: exchange_name(exchange),
        headers: p.headers.as_ref().map(|h| Arc::new(core_table(h))),
        expiration_ms,
        persistent: p.delivery_mode == Some(2),
    }
}

/// The exchange name of a publish, sharing the frame's bytes.
fn exchange_name(exchange: &ShortString) -> ByteString {
    ByteString::try_from(exchange.clone().into_bytes()).unwrap_or_default()
}

/// The exchange a delivery of `message` shows.
pub(super) fn exchange_of(message: &Message) -> ShortString {
    ShortString::new(message.exchange.as_bytes().clone()).unwrap_or(ShortString::EMPTY)
}

/// The core's field table as an AMQP one (integers as `I` when they fit, else `l`).
pub(super) fn amqp_table(table: &CoreTable) -> FieldTable {
    table
        .iter()
        .map(|(name, value)| (short(name), amqp_value(value)))
        .collect()
}

fn amqp_value(value: &CoreValue) -> FieldValue {
    match value {
        CoreValue::Bool(b) => FieldValue::Boolean(*b),
        CoreValue::Int(n) => {
            i32::try_from(*n).map_or(FieldValue::LongLongInt(*n), FieldValue::LongInt)
        }
        CoreValue::Float(f) => FieldValue::Double(*f),
        CoreValue::Decimal { scale, value } => FieldValue::Decimal {
            scale: *scale,
            value: *value,
        },
        CoreValue::Str(s) => FieldValue::LongString(LongString::new(s.clone())),
        CoreValue::Bytes(b) => FieldValue::ByteArray(b.clone()),
        CoreValue::Timestamp(t) => FieldValue::Timestamp(*t),
        CoreValue::Array(items) => FieldValue::Array(items.iter().map(amqp_value).collect()),
        CoreValue::Table(t) => FieldValue::Table(amqp_table(t)),
        CoreValue::Void => FieldValue::Void,
    }
}

/// The basic properties of a delivery of `message`.
pub(super) fn properties_of(message: &Message) -> BasicProperties {
    let p = &message.properties;
    let mut out = BasicProperties {
        content_type: p.content_type.as_deref().map(short),
        correlation_id: p
            .correlation_data
            .as_ref()
            .and_then(|d| std::str::from_utf8(d).ok())
            .map(short),
        reply_to: p
            .response_topic
            .as_deref()
            .map(|t| short(&mqtt_topic_to_routing_key(t))),
        ..BasicProperties::default()
    };
    if let Some(ms) = message.expiration_ms {
        out.expiration = Some(short(&ms.to_string()));
    } else if let Some(seconds) = p.message_expiry_interval {
        let left = message
            .remaining_expiry(Instant::now())
            .ok()
            .flatten()
            .map_or(seconds, |n| n.get());
        out.expiration = Some(short(&(u64::from(left) * 1000).to_string()));
    }
    // An AMQP publish's headers go out as they came, types and all; other messages'
    // user properties become string headers.
    let exact = message.headers.as_deref();
    let mut headers = exact.map_or_else(FieldTable::new, amqp_table);
    for (name, value) in &p.user_properties {
        let v = &**value;
        match &**name {
            MESSAGE_ID => out.message_id = Some(short(v)),
            APP_ID => out.app_id = Some(short(v)),
            CONTENT_ENCODING => out.content_encoding = Some(short(v)),
            TYPE => out.kind = Some(short(v)),
            USER_ID => out.user_id = Some(short(v)),
            REPLY_TO => out.reply_to = Some(short(v)),
            PERSISTENT => out.delivery_mode = Some(if v == "true" { 2 } else { 1 }),
            PRIORITY => out.priority = v.parse().ok(),
            TIMESTAMP => out.timestamp = v.parse().ok(),
            other
                if !other.is_empty()
                    && !PROPERTY_NAMES.contains(&other)
                    && exact.is_none_or(|t| t.get(other).is_none()) =>
            {
                headers.push(short(other), FieldValue::LongString(LongString::from(v)));
            }
            _ => {}
        }
    }
    if !headers.is_empty() {
        out.headers = Some(headers);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_survive_a_round_trip_through_the_core() {
        let mut headers = FieldTable::new();
        headers.push(ShortString::from_static("k"), "v");
        headers.push(ShortString::from_static("n"), 7i32);
        let props = BasicProperties {
            content_type: Some(ShortString::from_static("text/plain")),
            correlation_id: Some(ShortString::from_static("c1")),
            reply_to: Some(ShortString::from_static("replies")),
            message_id: Some(ShortString::from_static("m1")),
            delivery_mode: Some(2),
            headers: Some(headers),
            ..BasicProperties::default()
        };
        let message = message_from_publish(
            &ShortString::EMPTY,
            "a.b",
            &props,
            Bytes::from("x"),
            Origin::default(),
        );
        let back = properties_of(&message);
        assert_eq!(back.content_type, props.content_type);
        assert_eq!(back.correlation_id, props.correlation_id);
        assert_eq!(back.reply_to, props.reply_to);
        assert_eq!(back.message_id, props.message_id);
        assert_eq!(back.delivery_mode, Some(2));
        let headers = back.headers.unwrap();
        assert_eq!(headers.get("k"), Some(&FieldValue::from("v")));
        assert_eq!(
            headers.get("n"),
            Some(&FieldValue::LongInt(7)),
            "types kept"
        );
    }

    #[test]
    fn expiration_is_milliseconds() {
        let props = BasicProperties {
            expiration: Some(ShortString::from_static("1500")),
            ..BasicProperties::default()
        };
        let message = message_from_publish(
            &ShortString::EMPTY,
            "q",
            &props,
            Bytes::new(),
            Origin::default(),
        );
        assert_eq!(message.properties.message_expiry_interval, Some(2));
        assert_eq!(short(&"é".repeat(200)).len(), 254);
    }
}
