//! The frame commands of STOMP 1.0, 1.1 and 1.2.

use std::fmt;

/// A frame's command: the first line of every frame. Commands are case sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Client: open a session (all versions).
    Connect,
    /// Client: open a session; handled as CONNECT (STOMP 1.1 and 1.2).
    Stomp,
    /// Client: send a message to a destination.
    Send,
    /// Client: subscribe to a destination.
    Subscribe,
    /// Client: end a subscription.
    Unsubscribe,
    /// Client: acknowledge a message.
    Ack,
    /// Client: refuse a message (STOMP 1.1 and 1.2).
    Nack,
    /// Client: start a transaction.
    Begin,
    /// Client: commit a transaction.
    Commit,
    /// Client: roll back a transaction.
    Abort,
    /// Client: end the session.
    Disconnect,
    /// Server: the session is open.
    Connected,
    /// Server: a message for a subscription.
    Message,
    /// Server: a client frame that asked for a receipt has been processed.
    Receipt,
    /// Server: something went wrong; the server closes the connection after it.
    Error,
}

impl Command {
    /// Every command, client commands first.
    pub const ALL: [Self; 15] = [
        Self::Connect,
        Self::Stomp,
        Self::Send,
        Self::Subscribe,
        Self::Unsubscribe,
        Self::Ack,
        Self::Nack,
        Self::Begin,
        Self::Commit,
        Self::Abort,
        Self::Disconnect,
        Self::Connected,
        Self::Message,
        Self::Receipt,
        Self::Error,
    ];

    /// The command as it is written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "CONNECT",
            Self::Stomp => "STOMP",
            Self::Send => "SEND",
            Self::Subscribe => "SUBSCRIBE",
            Self::Unsubscribe => "UNSUBSCRIBE",
            Self::Ack => "ACK",
            Self::Nack => "NACK",
            Self::Begin => "BEGIN",
            Self::Commit => "COMMIT",
            Self::Abort => "ABORT",
            Self::Disconnect => "DISCONNECT",
            Self::Connected => "CONNECTED",
            Self::Message => "MESSAGE",
            Self::Receipt => "RECEIPT",
            Self::Error => "ERROR",
        }
    }

    /// The command a command line (end-of-line removed) names, if any.
    pub fn from_bytes(line: &[u8]) -> Option<Self> {
        Some(match line {
            b"SEND" => Self::Send,
            b"MESSAGE" => Self::Message,
            b"ACK" => Self::Ack,
            b"NACK" => Self::Nack,
            b"SUBSCRIBE" => Self::Subscribe,
            b"UNSUBSCRIBE" => Self::Unsubscribe,
            b"RECEIPT" => Self::Receipt,
            b"CONNECT" => Self::Connect,
            b"STOMP" => Self::Stomp,
            b"CONNECTED" => Self::Connected,
            b"BEGIN" => Self::Begin,
            b"COMMIT" => Self::Commit,
            b"ABORT" => Self::Abort,
            b"DISCONNECT" => Self::Disconnect,
            b"ERROR" => Self::Error,
            _ => return None,
        })
    }

    /// Whether clients send this command (CONNECT ... DISCONNECT).
    pub const fn is_client(self) -> bool {
        !self.is_server()
    }

    /// Whether servers send this command (CONNECTED, MESSAGE, RECEIPT, ERROR).
    pub const fn is_server(self) -> bool {
        matches!(
            self,
            Self::Connected | Self::Message | Self::Receipt | Self::Error
        )
    }

    /// Whether frames of this command are written without header escapes in every
    /// version: CONNECT and CONNECTED ("in order to remain backward compatible with STOMP
    /// 1.0"), and STOMP, which servers handle "in the same manner as a CONNECT frame".
    pub const fn is_unescaped(self) -> bool {
        matches!(self, Self::Connect | Self::Stomp | Self::Connected)
    }

    /// Whether STOMP 1.1 and 1.2 allow a body on this command: SEND, MESSAGE and ERROR.
    pub const fn allows_body(self) -> bool {
        matches!(self, Self::Send | Self::Message | Self::Error)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_parses_from_its_name() {
        for command in Command::ALL {
            assert_eq!(
                Command::from_bytes(command.as_str().as_bytes()),
                Some(command)
            );
            assert_eq!(command.to_string(), command.as_str());
        }
        for bad in [
            &b""[..],
            b"send",
            b"SEND ",
            b"CONNECTED\r",
            b"MESSAGES",
            b"\0",
        ] {
            assert_eq!(Command::from_bytes(bad), None);
        }
        let server: Vec<_> = Command::ALL.into_iter().filter(|c| c.is_server()).collect();
        assert_eq!(
            server,
            [
                Command::Connected,
                Command::Message,
                Command::Receipt,
                Command::Error
            ]
        );
        assert!(Command::Stomp.is_client() && Command::Stomp.is_unescaped());
        assert!(!Command::Message.is_unescaped());
    }
}
