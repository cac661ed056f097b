//! The connection class (10): negotiation, authentication, tuning, open and close, and
//! RabbitMQ's blocked/unblocked notifications and update-secret.

use crate::table::FieldTable;
use crate::types::{LongString, ShortString};

method! {
    /// The server's first method: protocol version, server properties (RabbitMQ puts its
    /// `capabilities` table here, see [`capabilities`](crate::capabilities)), SASL
    /// mechanisms and locales.
    ConnectionStart = (10, 10, "connection.start") {
        /// Protocol major version, 0.
        pub version_major: u8,
        /// Protocol minor version, 9.
        pub version_minor: u8,
        /// Server properties: `product`, `version`, `platform`, `capabilities`, ...
        pub server_properties: FieldTable,
        /// Space-separated SASL mechanisms (`PLAIN AMQPLAIN`).
        pub mechanisms: LongString,
        /// Space-separated locales (`en_US`).
        pub locales: LongString,
    }
}

method! {
    /// The client's answer to connection.start.
    ConnectionStartOk = (10, 11, "connection.start-ok") {
        /// Client properties, with the client's `capabilities` table.
        pub client_properties: FieldTable,
        /// The selected SASL mechanism.
        pub mechanism: ShortString,
        /// The SASL response (`\0user\0password` for PLAIN).
        pub response: LongString,
        /// The selected locale.
        pub locale: ShortString,
    }
}

method! {
    /// A SASL challenge.
    ConnectionSecure = (10, 20, "connection.secure") {
        /// The challenge.
        pub challenge: LongString,
    }
}

method! {
    /// A SASL response to connection.secure.
    ConnectionSecureOk = (10, 21, "connection.secure-ok") {
        /// The response.
        pub response: LongString,
    }
}

method! {
    /// The server's proposed limits.
    ConnectionTune = (10, 30, "connection.tune") {
        /// Highest channel number; 0: no limit (65535).
        pub channel_max: u16,
        /// Largest frame, header and frame-end included; 0: no limit.
        pub frame_max: u32,
        /// Heartbeat interval in seconds; 0: none.
        pub heartbeat: u16,
    }
}

method! {
    /// The client's chosen limits.
    ConnectionTuneOk = (10, 31, "connection.tune-ok") {
        /// Highest channel number; 0: no limit (65535).
        pub channel_max: u16,
        /// Largest frame, header and frame-end included; 0: no limit.
        pub frame_max: u32,
        /// Heartbeat interval in seconds; 0: none.
        pub heartbeat: u16,
    }
}

method! {
    /// Opens the connection to a virtual host.
    ConnectionOpen = (10, 40, "connection.open") {
        /// The virtual host.
        pub virtual_host: ShortString,
        reserved capabilities: ShortString,
        reserved insist: bool,
    }
}

method! {
    /// The virtual host is open.
    ConnectionOpenOk = (10, 41, "connection.open-ok") {
        reserved known_hosts: ShortString,
    }
}

method! {
    /// Closes the connection, with the reason and the method that caused it.
    ConnectionClose = (10, 50, "connection.close") {
        /// A reply code ([`ReplyCode`](crate::ReplyCode)).
        pub reply_code: u16,
        /// Text for the peer's log.
        pub reply_text: ShortString,
        /// The class of the failing method, or 0.
        pub class_id: u16,
        /// The failing method, or 0.
        pub method_id: u16,
    }
}

method! {
    /// Confirms connection.close; the socket may be closed.
    ConnectionCloseOk = (10, 51, "connection.close-ok") {}
}

method! {
    /// RabbitMQ: the server blocks publishing on this connection (resource alarm).
    ConnectionBlocked = (10, 60, "connection.blocked") {
        /// Why (`low on memory`).
        pub reason: ShortString,
    }
}

method! {
    /// RabbitMQ: publishing is unblocked.
    ConnectionUnblocked = (10, 61, "connection.unblocked") {}
}

method! {
    /// RabbitMQ: the client replaces its credentials (an expiring token).
    ConnectionUpdateSecret = (10, 70, "connection.update-secret") {
        /// The new secret.
        pub new_secret: LongString,
        /// Why, for the log.
        pub reason: ShortString,
    }
}

method! {
    /// RabbitMQ: the new secret is accepted.
    ConnectionUpdateSecretOk = (10, 71, "connection.update-secret-ok") {}
}
