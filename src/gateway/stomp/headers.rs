//! STOMP headers <-> the core message's properties, both ways, so that STOMP clients
//! and MQTT 5 clients see each other's metadata: `content-type` is the MQTT content
//! type, `correlation-id` the correlation data, other custom headers user properties.

use std::time::Instant;

use bytestring::ByteString;
use switchyard_mqtt::QoS;
use switchyard_stomp::{Frame, Header};

use crate::core::mapping::mqtt_topic_to_routing_key;
use crate::core::message::{Message, Origin, Properties};

/// Headers that belong to the STOMP exchange itself, never carried with a message.
const PROTOCOL_HEADERS: [&str; 12] = [
    "destination",
    "receipt",
    "transaction",
    "content-length",
    "content-type",
    "message-id",
    "subscription",
    "ack",
    "id",
    "redelivered",
    "correlation-id",
    "expiration",
];

/// The core message a SEND frame carries (its destination is resolved elsewhere).
/// STOMP messages are at-least-once: MQTT subscribers get them at up to QoS 1.
pub(super) fn message_from_send(frame: &Frame, topic: ByteString, origin: Origin) -> Message {
    let mut properties = Properties {
        content_type: frame.header("content-type").cloned(),
        correlation_data: frame
            .header("correlation-id")
            .map(|v| bytes::Bytes::copy_from_slice(v.as_bytes())),
        ..Properties::default()
    };
    // RabbitMQ's `expiration`: milliseconds; MQTT's expiry counts whole seconds.
    let expiration_ms = frame
        .header("expiration")
        .and_then(|v| v.trim().parse::<u64>().ok());
    properties.message_expiry_interval =
        expiration_ms.map(|ms| u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX));
    properties.user_properties = frame
        .headers
        .iter()
        .filter(|h| !PROTOCOL_HEADERS.contains(&&*h.name))
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    Message {
        topic,
        payload: frame.body.clone(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties,
        origin,
        received_at: Instant::now(),
        pressure: None,
        // The exchange is set where it is routed.
        exchange: ByteString::new(),
        headers: None,
        expiration_ms,
        persistent: frame.header("persistent").is_some_and(|v| v == "true"),
    }
}

/// The extra headers of a MESSAGE frame for `message`.
pub(super) fn message_headers(message: &Message, redelivered: bool) -> Vec<Header> {
    let p = &message.properties;
    let mut headers = Vec::with_capacity(p.user_properties.len() + 3);
    if let Some(content_type) = &p.content_type {
        headers.push(Header::new("content-type", content_type.clone()));
    }
    if let Some(data) = &p.correlation_data
        && let Ok(text) = std::str::from_utf8(data)
    {
        headers.push(Header::new("correlation-id", text));
    }
    if let Some(topic) = &p.response_topic {
        let key = mqtt_topic_to_routing_key(topic);
        headers.push(Header::new("reply-to", format!("/topic/{key}")));
    }
    if redelivered {
        headers.push(Header::new("redelivered", "true"));
    }
    for (name, value) in &p.user_properties {
        if !PROTOCOL_HEADERS.contains(&&**name) && !name.is_empty() {
            headers.push(Header::new(name.clone(), value.clone()));
        }
    }
    headers
}
