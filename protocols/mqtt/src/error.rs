//! Decode and encode errors, and the reason code each decode error yields.

use crate::reason::ReasonCode;

/// Why a byte stream is not valid MQTT. Every variant is a reason to close the
/// connection; [`DecodeError::reason_code`] says what to tell the peer first.
///
/// Small and `Copy`: hostile input never makes the codec allocate an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet is larger than the configured maximum packet size.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge {
        /// Size of the whole packet, fixed header included.
        size: usize,
        /// The configured maximum.
        max: u32,
    },
    /// A variable byte integer longer than four bytes [MQTT-1.5.5-1].
    #[error("malformed variable byte integer")]
    MalformedVariableInteger,
    /// A variable byte integer not in its shortest form [MQTT-1.5.5-1].
    #[error("variable byte integer not in its shortest encoding")]
    NonMinimalVariableInteger,
    /// Packet type 0, or AUTH (15) in MQTT 3.1.1.
    #[error("reserved or unknown packet type {0}")]
    InvalidPacketType(u8),
    /// Fixed-header flag bits that the standard reserves are not as required [MQTT-2.2.2-2].
    #[error("reserved fixed-header flags set")]
    InvalidHeaderFlags,
    /// A field runs past the end of the packet.
    #[error("packet ends inside a field")]
    UnexpectedEnd,
    /// Bytes left over after the last field of the packet.
    #[error("unexpected bytes after the end of the packet")]
    TrailingBytes,
    /// A string is not well-formed UTF-8 or encodes a surrogate [MQTT-1.5.4-1].
    #[error("string is not well-formed UTF-8")]
    InvalidUtf8,
    /// A string contains U+0000 [MQTT-1.5.4-2].
    #[error("string contains U+0000")]
    NullCharacter,
    /// The first packet on a connection is not CONNECT [MQTT-3.1.0-1].
    #[error("first packet is not CONNECT")]
    ExpectedConnect,
    /// CONNECT's protocol name is not "MQTT" [MQTT-3.1.2-1].
    #[error("protocol name is not MQTT")]
    InvalidProtocolName,
    /// CONNECT's protocol level is neither 4 (3.1.1) nor 5 (5.0) [MQTT-3.1.2-2].
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolVersion(u8),
    /// CONNECT's reserved flag is set [MQTT-3.1.2-3].
    #[error("reserved CONNECT flag set")]
    InvalidConnectFlags,
    /// Will QoS or Will Retain set without the Will Flag, or Will QoS 3
    /// [MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-14], [MQTT-3.1.2-15].
    #[error("will QoS / retain set without a will, or will QoS 3")]
    InvalidWillFlags,
    /// MQTT 3.1.1: Password Flag set without the User Name Flag [MQTT-3.1.2-22].
    #[error("password flag set without user name flag")]
    PasswordWithoutUsername,
    /// MQTT 3.1.1: an empty client identifier with Clean Session 0 [MQTT-3.1.3-8].
    #[error("empty client identifier requires a clean session")]
    EmptyClientId,
    /// A QoS of 3 [MQTT-3.3.1-4].
    #[error("QoS 3 is not a quality of service")]
    InvalidQoS,
    /// DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2].
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupWithQoS0,
    /// A packet identifier of 0 [MQTT-2.3.1-1].
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// A topic name contains `+` or `#` [MQTT-3.3.2-2].
    #[error("wildcard character in a topic name")]
    WildcardInTopicName,
    /// An empty topic name without a topic alias [MQTT-4.7.3-1], [MQTT-3.3.2-1].
    #[error("empty topic name")]
    EmptyTopicName,
    /// MQTT 5: an empty topic name without a Topic Alias (section 3.3.2.1).
    #[error("empty topic name without a topic alias")]
    MissingTopicAlias,
    /// A topic filter that is empty or misplaces a wildcard [MQTT-4.7.1-2], [MQTT-4.7.1-3].
    #[error("invalid topic filter")]
    InvalidTopicFilter,
    /// A malformed `$share/{ShareName}/{filter}` [MQTT-4.8.2-1], [MQTT-4.8.2-2].
    #[error("invalid shared subscription")]
    InvalidSharedSubscription,
    /// No Local set on a shared subscription [MQTT-3.8.3-4].
    #[error("no local on a shared subscription")]
    NoLocalOnSharedSubscription,
    /// Reserved bits of a subscription options byte are set [MQTT-3.8.3-5].
    #[error("reserved subscription option bits set")]
    InvalidSubscriptionOptions,
    /// A subscription's Maximum QoS of 3 (a Protocol Error in 5.0, section 3.8.3.1;
    /// malformed in 3.1.1 [MQTT-3.8.3-4]).
    #[error("subscription QoS 3")]
    InvalidSubscriptionQoS,
    /// Retain Handling of 3 [MQTT-3.8.3-5].
    #[error("retain handling 3")]
    InvalidRetainHandling,
    /// SUBSCRIBE or UNSUBSCRIBE without any topic filter [MQTT-3.8.3-3], [MQTT-3.10.3-2].
    #[error("no topic filter in SUBSCRIBE / UNSUBSCRIBE")]
    NoTopicFilter,
    /// SUBACK, or MQTT 5 UNSUBACK, without any reason code [MQTT-3.9.3-1], [MQTT-3.11.3-1].
    #[error("no reason code in SUBACK / UNSUBACK")]
    NoReasonCodes,
    /// A reason or return code the packet may not carry.
    #[error("reason code not allowed in this packet")]
    InvalidReasonCode,
    /// CONNACK's reserved acknowledge flags are set [MQTT-3.2.2-1].
    #[error("reserved CONNACK flags set")]
    InvalidConnAckFlags,
    /// Session Present set on a refused connection [MQTT-3.2.2-4], [MQTT-3.2.2-6].
    #[error("session present on a refused connection")]
    SessionPresentOnError,
    /// A property identifier that MQTT 5 does not define.
    #[error("unknown property identifier {0:#04x}")]
    UnknownProperty(u8),
    /// A property that may appear once appears twice.
    #[error("property {0:#04x} included more than once")]
    DuplicateProperty(u8),
    /// A property that the packet may not carry.
    #[error("property {0:#04x} not allowed in this packet")]
    PropertyNotAllowed(u8),
    /// A property value outside its range (e.g. Receive Maximum 0).
    #[error("invalid value for property {0:#04x}")]
    InvalidPropertyValue(u8),
    /// Authentication Data without an Authentication Method.
    #[error("authentication data without authentication method")]
    AuthDataWithoutMethod,
}

impl DecodeError {
    /// The MQTT 5 reason code to send in CONNACK (before the connection is accepted) or
    /// DISCONNECT (after) when closing the connection for this error. An MQTT 3.1.1 server
    /// answers only [`ReasonCode::UnsupportedProtocolVersion`] and
    /// [`ReasonCode::ClientIdentifierNotValid`] with a CONNACK (return codes 1 and 2)
    /// and otherwise closes the connection without a word.
    pub const fn reason_code(self) -> ReasonCode {
        match self {
            Self::PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            Self::UnsupportedProtocolVersion(_) | Self::InvalidProtocolName => {
                ReasonCode::UnsupportedProtocolVersion
            }
            Self::EmptyClientId => ReasonCode::ClientIdentifierNotValid,
            Self::WildcardInTopicName | Self::EmptyTopicName => ReasonCode::TopicNameInvalid,
            Self::InvalidTopicFilter | Self::InvalidSharedSubscription => {
                ReasonCode::TopicFilterInvalid
            }
            Self::InvalidPropertyValue(0x23) => ReasonCode::TopicAliasInvalid,
            Self::ExpectedConnect
            | Self::MissingTopicAlias
            | Self::InvalidSubscriptionQoS
            | Self::NoTopicFilter
            | Self::NoLocalOnSharedSubscription
            | Self::InvalidRetainHandling
            | Self::DuplicateProperty(_)
            | Self::InvalidPropertyValue(_)
            | Self::AuthDataWithoutMethod => ReasonCode::ProtocolError,
            _ => ReasonCode::MalformedPacket,
        }
    }
}

/// Why a packet cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoded packet would exceed the peer's maximum packet size, or the 256 MB the
    /// remaining-length field can express.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge {
        /// Size of the whole packet, fixed header included.
        size: usize,
        /// The limit it exceeds.
        max: usize,
    },
    /// A string or binary field longer than 65,535 bytes, or a variable byte integer
    /// (e.g. a subscription identifier) over 268,435,455.
    #[error("field too long for its encoding")]
    FieldTooLong,
    /// QoS 0 PUBLISH with a packet identifier, or QoS 1/2 without one.
    #[error("packet identifier does not match the QoS")]
    PacketIdMismatch,
    /// A topic name that the version cannot send as it is (empty in MQTT 3.1.1, or empty
    /// without a topic alias in MQTT 5).
    #[error("empty topic name without a topic alias")]
    EmptyTopicName,
    /// SUBSCRIBE, UNSUBSCRIBE or SUBACK without any entry.
    #[error("packet needs at least one entry")]
    NoEntries,
    /// A packet that the protocol version does not have (AUTH in MQTT 3.1.1).
    #[error("packet type does not exist in this protocol version")]
    NotInProtocol,
    /// A reason code the packet may not carry.
    #[error("reason code not allowed in this packet")]
    InvalidReasonCode,
}
