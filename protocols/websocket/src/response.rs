//! The server's side of the opening handshake (RFC 6455 section 4.2.2): the accept key,
//! the subprotocol choice, the 101 response and the error responses; and a client's
//! upgrade request (section 4.1), for tests and load generators.

use bytes::{BufMut, BytesMut};

use crate::base64;

/// The GUID that section 1.3 appends to the key before hashing.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// An HTTP status the server answers a refused upgrade request with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// 400: the request is not a valid WebSocket opening handshake.
    BadRequest,
    /// 404: no WebSocket endpoint at this path (the caller routes by path).
    NotFound,
    /// 426: a WebSocket version other than 13 (section 4.4).
    UpgradeRequired,
    /// 431: the header block is over the size or field-count limit (RFC 6585).
    RequestHeaderFieldsTooLarge,
}

impl Status {
    /// The numeric status code.
    pub const fn code(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::NotFound => 404,
            Self::UpgradeRequired => 426,
            Self::RequestHeaderFieldsTooLarge => 431,
        }
    }

    /// The reason phrase.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad Request",
            Self::NotFound => "Not Found",
            Self::UpgradeRequired => "Upgrade Required",
            Self::RequestHeaderFieldsTooLarge => "Request Header Fields Too Large",
        }
    }

    /// Appends the response with the reason phrase as its body: see
    /// [`write_error_response`].
    pub fn write_response(self, dst: &mut BytesMut) {
        write_error_response(self, self.reason(), dst);
    }
}

/// Appends an error response to `dst`: the status line, `Content-Type: text/plain`,
/// `Content-Length`, `Connection: close`, and `body` followed by a line feed. A 426 also
/// carries `Sec-WebSocket-Version: 13` (section 4.4) and `Upgrade: websocket`, which
/// RFC 9110 section 15.5.22 requires; its Connection field is then `Upgrade, close`.
/// The caller closes the connection once the response is written.
pub fn write_error_response(status: Status, body: &str, dst: &mut BytesMut) {
    let line = |dst: &mut BytesMut, parts: &[&[u8]]| {
        for part in parts {
            dst.put_slice(part);
        }
        dst.put_slice(b"\r\n");
    };
    let code = status.code().to_string();
    let length = (body.len() + 1).to_string();
    line(
        dst,
        &[
            b"HTTP/1.1 ",
            code.as_bytes(),
            b" ",
            status.reason().as_bytes(),
        ],
    );
    if status == Status::UpgradeRequired {
        line(dst, &[b"Upgrade: websocket"]);
        line(dst, &[b"Connection: Upgrade, close"]);
        line(dst, &[b"Sec-WebSocket-Version: 13"]);
    } else {
        line(dst, &[b"Connection: close"]);
    }
    line(dst, &[b"Content-Type: text/plain; charset=utf-8"]);
    line(dst, &[b"Content-Length: ", length.as_bytes()]);
    line(dst, &[]);
    dst.put_slice(body.as_bytes());
    dst.put_u8(b'\n');
}

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: the base64 encoding of the SHA-1 of
/// the key (as sent, in base64) followed by [`WEBSOCKET_GUID`] (section 4.2.2, item 5.4).
pub fn accept_key(key: &str) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WEBSOCKET_GUID.as_bytes());
    base64::encode(&sha1.digest().bytes())
}

/// The first subprotocol in the client's order (`offered`) that the server supports,
/// compared exactly (subprotocol names are case-sensitive). Returns the server's string.
pub fn choose_subprotocol<'s>(
    offered: &[impl AsRef<str>],
    supported: &[&'s str],
) -> Option<&'s str> {
    offered
        .iter()
        .find_map(|o| supported.iter().find(|&&s| s == o.as_ref()).copied())
}

/// Appends the 101 response accepting a request whose Sec-WebSocket-Key was `key`, with
/// the chosen subprotocol if any. Prefer [`crate::Request::write_accept`], which checks
/// that the subprotocol was offered.
pub(crate) fn write_accept_response(key: &str, protocol: Option<&str>, dst: &mut BytesMut) {
    dst.put_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    dst.put_slice(accept_key(key).as_bytes());
    if let Some(protocol) = protocol {
        dst.put_slice(b"\r\nSec-WebSocket-Protocol: ");
        dst.put_slice(protocol.as_bytes());
    }
    dst.put_slice(b"\r\n\r\n");
}

/// A fresh Sec-WebSocket-Key: the base64 encoding of 16 bytes, which a client draws
/// at random for each connection (section 4.1, item 7).
pub fn encode_key(nonce: [u8; 16]) -> String {
    base64::encode(&nonce)
}

/// Appends a client's opening handshake (section 4.1) to `dst`: `GET target HTTP/1.1`
/// with Host, `Upgrade: websocket`, `Connection: Upgrade`, the key, version 13, the
/// offered subprotocols in order (if any) and Origin (if given). The caller passes a
/// request target (`/path?query`) and values without CR or LF.
pub fn write_request(
    host: &str,
    target: &str,
    key: &str,
    protocols: &[&str],
    origin: Option<&str>,
    dst: &mut BytesMut,
) {
    for part in [
        "GET ",
        target,
        " HTTP/1.1\r\nHost: ",
        host,
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
        key,
        "\r\nSec-WebSocket-Version: 13\r\n",
    ] {
        dst.put_slice(part.as_bytes());
    }
    if !protocols.is_empty() {
        dst.put_slice(b"Sec-WebSocket-Protocol: ");
        dst.put_slice(protocols.join(", ").as_bytes());
        dst.put_slice(b"\r\n");
    }
    if let Some(origin) = origin {
        dst.put_slice(b"Origin: ");
        dst.put_slice(origin.as_bytes());
        dst.put_slice(b"\r\n");
    }
    dst.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_section_1_3_accept_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(encode_key(*b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn subprotocol_in_the_clients_order() {
        let offered = ["v12.stomp", "mqtt", "v10.stomp"];
        assert_eq!(
            choose_subprotocol(&offered, &["mqtt", "v12.stomp"]),
            Some("v12.stomp")
        );
        assert_eq!(choose_subprotocol(&offered, &["mqttv3.1"]), None);
        assert_eq!(choose_subprotocol(&["MQTT"], &["mqtt"]), None);
        let none: [&str; 0] = [];
        assert_eq!(choose_subprotocol(&none, &["mqtt"]), None);
    }

    #[test]
    fn error_responses() {
        let mut dst = BytesMut::new();
        Status::NotFound.write_response(&mut dst);
        assert_eq!(
            &dst[..],
            b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\
              Content-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\nNot Found\n"
        );
        let mut dst = BytesMut::new();
        write_error_response(Status::UpgradeRequired, "use 13", &mut dst);
        assert_eq!(
            &dst[..],
            b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\
              Connection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\n\
              Content-Type: text/plain; charset=utf-8\r\nContent-Length: 7\r\n\r\nuse 13\n"
        );
    }
}
