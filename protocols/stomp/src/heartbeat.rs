//! The `heart-beat` header of CONNECT and CONNECTED, and the negotiation of the two
//! heart-beat intervals (STOMP 1.1 and 1.2, "Heart-beating").

use std::fmt;
use std::time::Duration;

use crate::error::DecodeError;

/// One side's `heart-beat` header: `<outgoing>,<incoming>` in milliseconds.
///
/// An absent header is treated as `0,0` ("MUST be treated the same way as a
/// heart-beat:0,0 header"): that is [`HeartBeat::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HeartBeat {
    /// The smallest interval, in milliseconds, at which the sender of the header can
    /// send heart-beats; 0: it cannot send them.
    pub outgoing: u32,
    /// The interval, in milliseconds, at which the sender of the header would like to
    /// receive heart-beats; 0: it does not want them.
    pub incoming: u32,
}

/// The heart-beat intervals of a session, as both sides compute them from the
/// CONNECT and CONNECTED headers. `None`: no heart-beats in that direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HeartBeatIntervals {
    /// How often the client must send data (a frame or an EOL); the server MAY consider
    /// the connection dead after this long without data, plus a margin for timing
    /// inaccuracies.
    pub client_to_server: Option<Duration>,
    /// How often the server must send data (a frame or an EOL).
    pub server_to_client: Option<Duration>,
}

impl HeartBeat {
    /// No heart-beats either way (`0,0`, or no header).
    pub const NONE: Self = Self {
        outgoing: 0,
        incoming: 0,
    };

    /// A header of `outgoing` and `incoming` milliseconds.
    pub const fn new(outgoing: u32, incoming: u32) -> Self {
        Self { outgoing, incoming }
    }

    /// Parses a `heart-beat` header value: two decimal numbers of milliseconds
    /// separated by a comma, each up to `u32::MAX`. Spaces around either number are
    /// tolerated.
    pub fn parse(value: &str) -> Result<Self, DecodeError> {
        let (outgoing, incoming) = value.split_once(',').ok_or(DecodeError::InvalidHeartBeat)?;
        Ok(Self {
            outgoing: parse_ms(outgoing)?,
            incoming: parse_ms(incoming)?,
        })
    }

    /// The intervals of a session whose client sent `client` (`cx,cy`) in CONNECT and
    /// whose server sent `server` (`sx,sy`) in CONNECTED. From the spec: client to server,
    /// none if `cx` or `sy` is 0, otherwise every `max(cx, sy)` milliseconds; server to
    /// client the same with `sx` and `cy`.
    pub fn negotiate(client: Self, server: Self) -> HeartBeatIntervals {
        HeartBeatIntervals {
            client_to_server: interval(client.outgoing, server.incoming),
            server_to_client: interval(server.outgoing, client.incoming),
        }
    }
}

impl fmt::Display for HeartBeat {
    /// The header value, `outgoing,incoming`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.outgoing, self.incoming)
    }
}

fn parse_ms(s: &str) -> Result<u32, DecodeError> {
    let s = s.trim_matches(' ');
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::InvalidHeartBeat);
    }
    s.parse().map_err(|_| DecodeError::InvalidHeartBeat)
}

fn interval(sender_can: u32, receiver_wants: u32) -> Option<Duration> {
    if sender_can == 0 || receiver_wants == 0 {
        None
    } else {
        Some(Duration::from_millis(u64::from(
            sender_can.max(receiver_wants),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(HeartBeat::parse("0,0"), Ok(HeartBeat::NONE));
        assert_eq!(
            HeartBeat::parse("10000,5000"),
            Ok(HeartBeat::new(10_000, 5_000))
        );
        assert_eq!(HeartBeat::parse("10, 20"), Ok(HeartBeat::new(10, 20)));
        assert_eq!(
            HeartBeat::parse("4294967295,0"),
            Ok(HeartBeat::new(u32::MAX, 0))
        );
        for bad in [
            "",
            "1",
            "1,",
            ",1",
            "1,2,3",
            "-1,0",
            "+1,0",
            "1.5,0",
            "4294967296,0",
            "a,b",
        ] {
            assert_eq!(
                HeartBeat::parse(bad),
                Err(DecodeError::InvalidHeartBeat),
                "{bad}"
            );
        }
        assert_eq!(HeartBeat::new(5, 7).to_string(), "5,7");
    }

    #[test]
    fn negotiate_per_the_spec() {
        let ms = |n| Some(Duration::from_millis(n));
        // cx=0: the client cannot send; cy=0: it wants nothing.
        assert_eq!(
            HeartBeat::negotiate(HeartBeat::NONE, HeartBeat::new(1000, 1000)),
            HeartBeatIntervals::default()
        );
        // Both directions: the larger of the two numbers.
        assert_eq!(
            HeartBeat::negotiate(HeartBeat::new(4000, 10_000), HeartBeat::new(5000, 2000)),
            HeartBeatIntervals {
                client_to_server: ms(4000),
                server_to_client: ms(10_000),
            }
        );
        // The server does not want heart-beats (sy=0) but sends them.
        assert_eq!(
            HeartBeat::negotiate(HeartBeat::new(1000, 1000), HeartBeat::new(3000, 0)),
            HeartBeatIntervals {
                client_to_server: None,
                server_to_client: ms(3000),
            }
        );
        assert_eq!(
            HeartBeat::negotiate(HeartBeat::new(u32::MAX, 1), HeartBeat::new(1, 1)),
            HeartBeatIntervals {
                client_to_server: ms(u64::from(u32::MAX)),
                server_to_client: ms(1),
            }
        );
    }
}
