//! The content header frame: class id, weight, body size, property flags and the 14
//! properties of the basic class, the only class with content in 0-9-1.

use crate::error::{DecodeError, EncodeError};
use crate::reader::Reader;
use crate::table::FieldTable;
use crate::types::ShortString;
use crate::writer::Writer;

/// The class id of the basic class, the only class with content in 0-9-1.
pub const BASIC_CLASS_ID: u16 = 60;

/// The properties of a basic message (the spec's basic class "properties"), each
/// present or absent. Strings are views of the decoded frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct BasicProperties {
    /// MIME content type.
    pub content_type: Option<ShortString>,
    /// MIME content encoding.
    pub content_encoding: Option<ShortString>,
    /// Application headers (the headers exchange routes on these).
    pub headers: Option<FieldTable>,
    /// 1: transient, 2: persistent.
    pub delivery_mode: Option<u8>,
    /// Priority, 0 to 9.
    pub priority: Option<u8>,
    /// Application correlation id (RPC).
    pub correlation_id: Option<ShortString>,
    /// Reply address (RPC; RabbitMQ's `amq.rabbitmq.reply-to`).
    pub reply_to: Option<ShortString>,
    /// Per-message TTL in milliseconds, as decimal text (RabbitMQ's reading).
    pub expiration: Option<ShortString>,
    /// Application message id.
    pub message_id: Option<ShortString>,
    /// Timestamp, seconds since the epoch.
    pub timestamp: Option<u64>,
    /// Message type name (the spec's `type`).
    pub kind: Option<ShortString>,
    /// Creating user id; RabbitMQ checks it against the connection's user.
    pub user_id: Option<ShortString>,
    /// Creating application id.
    pub app_id: Option<ShortString>,
    /// The spec's deprecated `cluster-id` (reserved in 0-9-1; RabbitMQ passes it on).
    pub cluster_id: Option<ShortString>,
}

/// Property flag bits, first property in the highest bit (spec 4.2.6.1).
mod flag {
    pub(super) const CONTENT_TYPE: u16 = 1 << 15;
    pub(super) const CONTENT_ENCODING: u16 = 1 << 14;
    pub(super) const HEADERS: u16 = 1 << 13;
    pub(super) const DELIVERY_MODE: u16 = 1 << 12;
    pub(super) const PRIORITY: u16 = 1 << 11;
    pub(super) const CORRELATION_ID: u16 = 1 << 10;
    pub(super) const REPLY_TO: u16 = 1 << 9;
    pub(super) const EXPIRATION: u16 = 1 << 8;
    pub(super) const MESSAGE_ID: u16 = 1 << 7;
    pub(super) const TIMESTAMP: u16 = 1 << 6;
    pub(super) const TYPE: u16 = 1 << 5;
    pub(super) const USER_ID: u16 = 1 << 4;
    pub(super) const APP_ID: u16 = 1 << 3;
    pub(super) const CLUSTER_ID: u16 = 1 << 2;
    /// Bit 1 names no basic property.
    pub(super) const UNUSED: u16 = 1 << 1;
    /// Bit 0: another flag word follows.
    pub(super) const CONTINUATION: u16 = 1;
}

impl BasicProperties {
    /// The property flags word these properties are written with.
    pub fn flags(&self) -> u16 {
        let mut f = 0;
        let mut set = |present: bool, bit: u16| {
            if present {
                f |= bit;
            }
        };
        set(self.content_type.is_some(), flag::CONTENT_TYPE);
        set(self.content_encoding.is_some(), flag::CONTENT_ENCODING);
        set(self.headers.is_some(), flag::HEADERS);
        set(self.delivery_mode.is_some(), flag::DELIVERY_MODE);
        set(self.priority.is_some(), flag::PRIORITY);
        set(self.correlation_id.is_some(), flag::CORRELATION_ID);
        set(self.reply_to.is_some(), flag::REPLY_TO);
        set(self.expiration.is_some(), flag::EXPIRATION);
        set(self.message_id.is_some(), flag::MESSAGE_ID);
        set(self.timestamp.is_some(), flag::TIMESTAMP);
        set(self.kind.is_some(), flag::TYPE);
        set(self.user_id.is_some(), flag::USER_ID);
        set(self.app_id.is_some(), flag::APP_ID);
        set(self.cluster_id.is_some(), flag::CLUSTER_ID);
        f
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.u16()?;
        if flags & flag::UNUSED != 0 {
            return Err(DecodeError::InvalidPropertyFlags);
        }
        let mut more = flags & flag::CONTINUATION != 0;
        while more {
            // Continuation words would name properties the basic class does not have.
            let word = r.u16()?;
            if word & !flag::CONTINUATION != 0 {
                return Err(DecodeError::InvalidPropertyFlags);
            }
            more = word & flag::CONTINUATION != 0;
        }
        let s = |r: &mut Reader<'_>, bit: u16| -> Result<Option<ShortString>, DecodeError> {
            if flags & bit == 0 {
                Ok(None)
            } else {
                r.short_string().map(Some)
            }
        };
        Ok(Self {
            content_type: s(r, flag::CONTENT_TYPE)?,
            content_encoding: s(r, flag::CONTENT_ENCODING)?,
            headers: if flags & flag::HEADERS == 0 {
                None
            } else {
                Some(r.table(1)?)
            },
            delivery_mode: if flags & flag::DELIVERY_MODE == 0 {
                None
            } else {
                Some(r.u8()?)
            },
            priority: if flags & flag::PRIORITY == 0 {
                None
            } else {
                Some(r.u8()?)
            },
            correlation_id: s(r, flag::CORRELATION_ID)?,
            reply_to: s(r, flag::REPLY_TO)?,
            expiration: s(r, flag::EXPIRATION)?,
            message_id: s(r, flag::MESSAGE_ID)?,
            timestamp: if flags & flag::TIMESTAMP == 0 {
                None
            } else {
                Some(r.u64()?)
            },
            kind: s(r, flag::TYPE)?,
            user_id: s(r, flag::USER_ID)?,
            app_id: s(r, flag::APP_ID)?,
            cluster_id: s(r, flag::CLUSTER_ID)?,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(self.flags());
        let s = |w: &mut Writer<'_>, v: &Option<ShortString>| {
            if let Some(v) = v {
                w.short_string(v);
            }
        };
        s(w, &self.content_type);
        s(w, &self.content_encoding);
        if let Some(h) = &self.headers {
            w.table(h, 1)?;
        }
        if let Some(v) = self.delivery_mode {
            w.u8(v);
        }
        if let Some(v) = self.priority {
            w.u8(v);
        }
        s(w, &self.correlation_id);
        s(w, &self.reply_to);
        s(w, &self.expiration);
        s(w, &self.message_id);
        if let Some(v) = self.timestamp {
            w.u64(v);
        }
        s(w, &self.kind);
        s(w, &self.user_id);
        s(w, &self.app_id);
        s(w, &self.cluster_id);
        Ok(())
    }
}

/// A content header frame's payload. The class id is always basic (60): a header of
/// any other class is [`DecodeError::ContentHeaderClass`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct ContentHeader {
    /// Unused by 0-9-1; zero when we write it, any value read back as it was sent.
    pub weight: u16,
    /// Total size of the body frames that follow.
    pub body_size: u64,
    /// The message properties.
    pub properties: BasicProperties,
}

impl ContentHeader {
    /// A header for a body of `body_size` octets.
    pub const fn new(body_size: u64, properties: BasicProperties) -> Self {
        Self {
            weight: 0,
            body_size,
            properties,
        }
    }

    pub(crate) fn decode(payload: &bytes::Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(payload);
        let class_id = r.u16()?;
        if class_id != BASIC_CLASS_ID {
            return Err(DecodeError::ContentHeaderClass(class_id));
        }
        let weight = r.u16()?;
        let body_size = r.u64()?;
        let properties = BasicProperties::decode(&mut r)?;
        r.finish()?;
        Ok(Self {
            weight,
            body_size,
            properties,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        encode_header(w, self.weight, self.body_size, &self.properties)
    }
}

/// Writes a content header payload from its parts (the hot path needs no
/// [`ContentHeader`] value).
pub(crate) fn encode_header(
    w: &mut Writer<'_>,
    weight: u16,
    body_size: u64,
    properties: &BasicProperties,
) -> Result<(), EncodeError> {
    w.u16(BASIC_CLASS_ID);
    w.u16(weight);
    w.u64(body_size);
    properties.encode(w)
}
