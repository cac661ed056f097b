//! Base64 with the standard alphabet and padding (RFC 4648 section 4), as the handshake
//! uses it for Sec-WebSocket-Key and Sec-WebSocket-Accept.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the padded base64 encoding of `data` to `out`.
pub(crate) fn encode_into(data: &[u8], out: &mut String) {
    out.reserve(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..4 {
            if i < symbols {
                out.push(char::from(symbol(n >> (18 - 6 * i))));
            } else {
                out.push('=');
            }
        }
    }
}

/// The base64 encoding of `data`.
pub(crate) fn encode(data: &[u8]) -> String {
    let mut out = String::new();
    encode_into(data, &mut out);
    out
}

/// Decodes padded base64 into `out`, which must be exactly as long as the decoded data.
/// Refuses anything but the canonical encoding: wrong length, characters outside the
/// alphabet, misplaced padding, or non-zero bits after the last byte.
pub(crate) fn decode_exact(text: &[u8], out: &mut [u8]) -> Option<()> {
    if !text.len().is_multiple_of(4) || text.len() / 4 != out.len().div_ceil(3) {
        return None;
    }
    let mut written = 0;
    for quad in text.chunks_exact(4) {
        let mut n = 0u32;
        let mut padding = 0;
        for &c in quad {
            let value = match c {
                b'=' => {
                    padding += 1;
                    0
                }
                // A symbol after padding.
                _ if padding > 0 => return None,
                _ => value(c)?,
            };
            n = n << 6 | u32::from(value);
        }
        let bytes = n.to_be_bytes();
        let len = 3usize.checked_sub(padding)?;
        let decoded = bytes.get(1..1 + len)?;
        // Bits the padding covers must be zero (canonical encoding).
        if bytes
            .get(1 + len..)
            .is_some_and(|rest| rest.iter().any(|&b| b != 0))
        {
            return None;
        }
        let end = written + len;
        // Padding only in the last quad, and the output must be filled exactly.
        out.get_mut(written..end)?.copy_from_slice(decoded);
        written = end;
        if padding > 0 && written != out.len() {
            return None;
        }
    }
    (written == out.len()).then_some(())
}

fn symbol(sextet: u32) -> u8 {
    ALPHABET
        .get((sextet & 0x3F) as usize)
        .copied()
        .unwrap_or(b'A')
}

fn value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 section 10.
    #[test]
    fn rfc_4648_vectors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for &(data, text) in cases {
            assert_eq!(encode(data), text);
            let mut out = vec![0; data.len()];
            assert_eq!(decode_exact(text.as_bytes(), &mut out), Some(()), "{text}");
            assert_eq!(out, data);
        }
    }

    #[test]
    fn every_byte_round_trips() {
        let data: Vec<u8> = (0..=255).collect();
        for len in 0..data.len() {
            let text = encode(&data[..len]);
            let mut out = vec![0; len];
            assert_eq!(decode_exact(text.as_bytes(), &mut out), Some(()));
            assert_eq!(out, &data[..len]);
        }
    }

    #[test]
    fn rejects_non_canonical() {
        let mut out = [0u8; 16];
        // The RFC 6455 sample key decodes; variations of it do not.
        assert_eq!(
            decode_exact(b"dGhlIHNhbXBsZSBub25jZQ==", &mut out),
            Some(())
        );
        assert_eq!(&out, b"the sample nonce");
        for bad in [
            &b"dGhlIHNhbXBsZSBub25jZR=="[..], // non-zero bits under the padding
            b"dGhlIHNhbXBsZSBub25jZQ=",       // wrong length
            b"dGhlIHNhbXBsZSBub25jZQ",        // no padding
            b"dGhlIHNhbXBsZSBub25j=Q==",      // symbol after padding
            b"dGhlIHNhbXBsZSBub25jZQ.=",      // not in the alphabet
            b"dGhlIHNhbXBsZSBub25jZQ==AAAA",  // too long
            b"dGhlIHNhbXBsZSBub25jZWU=",      // 17 bytes
            b"dGhlIHNhbXBsZSBub25j====",      // too much padding
        ] {
            assert_eq!(decode_exact(bad, &mut out), None, "{bad:?}");
        }
        let mut out = [0u8; 2];
        assert_eq!(decode_exact(b"Zg==Zg==", &mut out), None);
    }
}
