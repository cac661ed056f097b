//! The opening handshake from the server's side: an incremental parser for the client's
//! HTTP/1.1 upgrade request, and its validation (RFC 6455 section 4.2.1).

use bytes::{Bytes, BytesMut};

use crate::base64;
use crate::error::{HandshakeError, SubprotocolNotOffered};
use crate::response::{accept_key, choose_subprotocol, write_accept_response};

/// A maximum request size that fits every browser's upgrade request: 8 KiB.
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 8 * 1024;

/// The most header fields a request may have; more is [`HandshakeError::TooManyHeaders`].
pub const MAX_HEADERS: usize = 64;

/// Reads the client's upgrade request off the front of a connection's first bytes.
///
/// The contract of [`RequestDecoder::decode`]:
/// - `Ok(Some(request))`: the header block was complete and is a valid opening
///   handshake; it was split off the buffer, and whatever follows it (frames the client
///   sent without waiting for the response) is left in the buffer;
/// - `Ok(None)`: the header block is not complete yet; nothing was consumed, and the
///   buffer holds fewer than [`RequestDecoder::max_size`] bytes, so at most
///   `max_size - buf.len()` more are needed before the decoder decides;
/// - `Err(_)`: answer with [`HandshakeError::write_response`] and close the connection.
///   The header block may have been consumed.
///
/// The decoder remembers how far it has looked for the end of the header block, so
/// feeding a request a byte at a time costs linear time: use one decoder per connection
/// and only append to the buffer between calls.
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    max_size: usize,
    scanned: usize,
}

impl RequestDecoder {
    /// A decoder that refuses header blocks over `max_size` bytes (the empty line that
    /// ends the block included); see [`DEFAULT_MAX_REQUEST_SIZE`].
    pub fn new(max_size: usize) -> Self {
        Self {
            max_size,
            scanned: 0,
        }
    }

    /// The maximum size of a header block.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Decodes the upgrade request from the front of `buf`; see the type's documentation.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, HandshakeError> {
        let window = buf.get(..buf.len().min(self.max_size)).unwrap_or_default();
        if self.scanned > window.len() {
            self.scanned = 0;
        }
        match find_end(window, self.scanned.saturating_sub(2)) {
            Some(end) => {
                self.scanned = 0;
                let head = buf.split_to(end).freeze();
                Request::parse(&head).map(Some)
            }
            None if buf.len() >= self.max_size => {
                self.scanned = 0;
                Err(HandshakeError::RequestTooLarge { max: self.max_size })
            }
            None => {
                self.scanned = window.len();
                Ok(None)
            }
        }
    }
}

impl Default for RequestDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_REQUEST_SIZE)
    }
}

/// The length of the header block: up to the first empty line (CRLF CRLF, or the bare
/// LF line ends that RFC 9112 section 2.2 lets a recipient accept), looking from `from`.
fn find_end(window: &[u8], from: usize) -> Option<usize> {
    let rest = window.get(from..)?;
    rest.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        let next = rest.get(i + 1..)?;
        if next.starts_with(b"\n") {
            Some(from + i + 2)
        } else if next.starts_with(b"\r\n") {
            Some(from + i + 3)
        } else {
            None
        }
    })
}

/// A valid WebSocket upgrade request: what the server needs to route it (path, query,
/// host, origin, offered subprotocols, any other header field) and to accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    path: String,
    query: Option<String>,
    host: String,
    key: String,
    protocols: Vec<String>,
    origin: Option<String>,
    headers: Vec<(Bytes, Bytes)>,
}

impl Request {
    /// Parses and validates one complete header block.
    fn parse(head: &Bytes) -> Result<Self, HandshakeError> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut fields);
        match request.parse(head) {
            Ok(httparse::Status::Complete(n)) if n == head.len() => {}
            Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::TooManyHeaders),
            _ => return Err(HandshakeError::MalformedRequest),
        }
        if request.method != Some("GET") {
            return Err(HandshakeError::MethodNotGet);
        }
        if request.version != Some(1) {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        let (path, query) = request
            .path
            .and_then(split_target)
            .ok_or(HandshakeError::InvalidRequestTarget)?;

        let mut fields_seen = Fields::default();
        for field in request.headers.iter() {
            fields_seen.add(field.name, trim(field.value));
        }
        let f = fields_seen;
        let host = match f.hosts.as_slice() {
            [host] if !host.is_empty() => {
                std::str::from_utf8(host).map_err(|_| HandshakeError::InvalidHost)?
            }
            _ => return Err(HandshakeError::InvalidHost),
        };
        if !f.upgrade_websocket {
            return Err(HandshakeError::MissingUpgrade);
        }
        if !f.connection_upgrade {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        if f.versions.as_slice() != [b"13"] {
            return Err(HandshakeError::UnsupportedVersion);
        }
        let key = match f.keys.as_slice() {
            [key] if base64::decode_exact(key, &mut [0; 16]).is_some() => key,
            _ => return Err(HandshakeError::InvalidKey),
        };
        let mut protocols = Vec::new();
        for value in &f.protocols {
            for element in value.split(|&b| b == b',').map(trim) {
                if element.is_empty() {
                    continue;
                }
                match std::str::from_utf8(element) {
                    Ok(token) if element.iter().all(|&b| is_token_char(b)) => {
                        protocols.push(token.to_owned());
                    }
                    _ => return Err(HandshakeError::InvalidSubprotocol),
                }
            }
        }
        let origin = match f.origins.as_slice() {
            [] => None,
            [origin] => Some(
                std::str::from_utf8(origin)
                    .map_err(|_| HandshakeError::InvalidOrigin)?
                    .to_owned(),
            ),
            _ => return Err(HandshakeError::InvalidOrigin),
        };
        Ok(Self {
            path: path.to_owned(),
            query: query.map(str::to_owned),
            host: host.to_owned(),
            key: String::from_utf8_lossy(key).into_owned(),
            protocols,
            origin,
            headers: request
                .headers
                .iter()
                .map(|h| (view(head, h.name.as_bytes()), view(head, h.value)))
                .collect(),
        })
    }

    /// The path of the request target, without the query: what the server routes by
    /// (`/mqtt`, `/stomp`). As sent: not percent-decoded. Always starts with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query of the request target (after `?`), if it has one.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The Host header field.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The Sec-WebSocket-Key header field (base64 of 16 bytes).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols the client offers, in its order of preference, from every
    /// Sec-WebSocket-Protocol field (comma-separated lists, empty elements dropped).
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The Origin header field, if the client sent one (browsers do; section 4.2.1,
    /// item 7): a server may refuse origins it does not trust with 403.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The value of the first header field named `name` (compared ignoring case),
    /// without surrounding whitespace.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_ref())
    }

    /// Every header field in the order received, as (name, value).
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// The Sec-WebSocket-Accept value that answers this request.
    pub fn accept_key(&self) -> String {
        accept_key(&self.key)
    }

    /// The first offered subprotocol that is in `supported`: see [`choose_subprotocol`].
    pub fn choose_subprotocol<'s>(&self, supported: &[&'s str]) -> Option<&'s str> {
        choose_subprotocol(&self.protocols, supported)
    }

    /// Appends the `101 Switching Protocols` response that accepts this request, with
    /// `protocol` as Sec-WebSocket-Protocol. After it the connection speaks frames.
    /// Refuses a subprotocol the client did not offer (section 4.2.2, item 5.4).
    pub fn write_accept(
        &self,
        protocol: Option<&str>,
        dst: &mut BytesMut,
    ) -> Result<(), SubprotocolNotOffered> {
        if let Some(p) = protocol
            && !self.protocols.iter().any(|o| o == p)
        {
            return Err(SubprotocolNotOffered);
        }
        write_accept_response(&self.key, protocol, dst);
        Ok(())
    }
}

impl HandshakeError {
    /// Appends the response for this error ([`HandshakeError::status`], with the error
    /// message as its body); the caller then closes the connection.
    pub fn write_response(self, dst: &mut BytesMut) {
        crate::response::write_error_response(self.status(), &self.to_string(), dst);
    }
}

/// The header fields that the handshake reads, as they were found.
#[derive(Default)]
struct Fields<'a> {
    hosts: Vec<&'a [u8]>,
    upgrade_websocket: bool,
    connection_upgrade: bool,
    versions: Vec<&'a [u8]>,
    keys: Vec<&'a [u8]>,
    protocols: Vec<&'a [u8]>,
    origins: Vec<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn add(&mut self, name: &str, value: &'a [u8]) {
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        if is("host") {
            self.hosts.push(value);
        } else if is("upgrade") {
            self.upgrade_websocket |= has_token(value, b"websocket");
        } else if is("connection") {
            self.connection_upgrade |= has_token(value, b"upgrade");
        } else if is("sec-websocket-version") {
            self.versions.push(value);
        } else if is("sec-websocket-key") {
            self.keys.push(value);
        } else if is("sec-websocket-protocol") {
            self.protocols.push(value);
        } else if is("origin") {
            self.origins.push(value);
        }
    }
}

/// Splits an origin-form (`/path?query`) or absolute-form (`ws://host/path?query`)
/// request target into path and query. No fragment (RFC 6455 section 3).
fn split_target(target: &str) -> Option<(&str, Option<&str>)> {
    if target.contains('#') {
        return None;
    }
    let path_and_query = if target.starts_with('/') {
        target
    } else {
        let (scheme, rest) = target.split_once("://")?;
        if !["ws", "wss", "http", "https"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s))
        {
            return None;
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if authority_end == 0 {
            return None;
        }
        rest.get(authority_end..)?
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    Some((if path.is_empty() { "/" } else { path }, query))
}

/// Whether a comma-separated list holds `token`, compared ignoring ASCII case.
fn has_token(list: &[u8], token: &[u8]) -> bool {
    list.split(|&b| b == b',')
        .any(|element| trim(element).eq_ignore_ascii_case(token))
}

fn trim(value: &[u8]) -> &[u8] {
    value.trim_ascii()
}

/// `tchar` of RFC 9110 section 5.6.2.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `part` as a view of `head`, which holds it; a copy if it does not.
fn view(head: &Bytes, part: &[u8]) -> Bytes {
    let offset = (part.as_ptr() as usize).wrapping_sub(head.as_ptr() as usize);
    match offset.checked_add(part.len()) {
        Some(end) if end <= head.len() => head.slice(offset..end),
        _ => Bytes::copy_from_slice(part),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn byte_by_byte_then_pipelined_frames_stay() {
        let mut decoder = RequestDecoder::default();
        let mut buf = BytesMut::new();
        for (i, &b) in RFC_REQUEST.iter().enumerate() {
            buf.extend_from_slice(&[b]);
            let result = decoder.decode(&mut buf);
            if i + 1 < RFC_REQUEST.len() {
                assert_eq!(result, Ok(None), "after {} bytes", i + 1);
                assert_eq!(buf.len(), i + 1);
            } else {
                let request = result.unwrap().unwrap();
                assert_eq!(request.path(), "/chat");
                assert_eq!(request.protocols(), ["chat", "superchat"]);
            }
        }
        let mut buf = BytesMut::from(RFC_REQUEST);
        buf.extend_from_slice(b"\x81\x85");
        assert!(decoder.decode(&mut buf).unwrap().is_some());
        assert_eq!(&buf[..], b"\x81\x85");
    }

    #[test]
    fn bare_line_feeds_end_the_block() {
        let request = b"GET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: upgrade\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\nrest";
        let mut buf = BytesMut::from(&request[..]);
        let request = RequestDecoder::default().decode(&mut buf).unwrap().unwrap();
        assert_eq!(request.host(), "h");
        assert_eq!(&buf[..], b"rest");
    }

    #[test]
    fn request_targets() {
        assert_eq!(split_target("/mqtt"), Some(("/mqtt", None)));
        assert_eq!(split_target("/a/b?x=1&y"), Some(("/a/b", Some("x=1&y"))));
        assert_eq!(split_target("/?"), Some(("/", Some(""))));
        assert_eq!(
            split_target("ws://h:80/stomp?q"),
            Some(("/stomp", Some("q")))
        );
        assert_eq!(split_target("WSS://h"), Some(("/", None)));
        assert_eq!(split_target("http://h?q"), Some(("/", Some("q"))));
        assert_eq!(split_target("ftp://h/"), None);
        assert_eq!(split_target("ws:///x"), None);
        assert_eq!(split_target("*"), None);
        assert_eq!(split_target("mqtt"), None);
        assert_eq!(split_target("/chat#frag"), None);
    }

    #[test]
    fn header_access() {
        let mut buf = BytesMut::from(RFC_REQUEST);
        let request = RequestDecoder::default().decode(&mut buf).unwrap().unwrap();
        assert_eq!(request.header("origin"), Some(&b"http://example.com"[..]));
        assert_eq!(request.header("X-Missing"), None);
        assert_eq!(request.headers().count(), 7);
        assert_eq!(
            request.headers().next(),
            Some((&b"Host"[..], &b"server.example.com"[..]))
        );
    }

    #[test]
    fn accept_checks_the_subprotocol() {
        let mut buf = BytesMut::from(RFC_REQUEST);
        let request = RequestDecoder::default().decode(&mut buf).unwrap().unwrap();
        let mut dst = BytesMut::new();
        assert_eq!(
            request.write_accept(Some("mqtt"), &mut dst),
            Err(SubprotocolNotOffered)
        );
        assert!(dst.is_empty());
        assert_eq!(
            request.choose_subprotocol(&["superchat", "chat"]),
            Some("chat")
        );
    }
}
