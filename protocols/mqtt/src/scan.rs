//! Byte scans for the string rules: U+0000 anywhere [MQTT-1.5.4-2], and the wildcard
//! characters `+` and `#` that a topic name may not hold [MQTT-3.3.2-2].
//!
//! Strings in MQTT are short (topics are tens of bytes), where a byte loop costs about
//! ten instructions a byte and a general search (memchr) has a set-up cost of 50 to 90
//! instructions. These scans instead test blocks of 16 or 32 bytes with a branch-free
//! fold that the compiler turns into a few SSE2 instructions: a string of 16 to 64 bytes
//! is two overlapping blocks and one branch, a longer one a loop with an overlapping
//! last block, a shorter one one or two overlapping words. They answer only "is there
//! one"; the rare caller that finds one then looks for where.

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether `bytes` holds a zero byte (U+0000 in UTF-8).
#[inline]
pub(crate) fn contains_nul(bytes: &[u8]) -> bool {
    scan::<false>(bytes)
}

/// Whether `bytes` holds a zero byte, `+` or `#`.
#[inline]
pub(crate) fn contains_nul_or_wildcard(bytes: &[u8]) -> bool {
    scan::<true>(bytes)
}

/// Whether `b` is zero, or with `WILDCARDS` also `#` (0x23) or `+` (0x2B): the two
/// differ in bit 3 only.
#[inline(always)]
fn byte_hit<const WILDCARDS: bool>(b: u8) -> bool {
    (b == 0) | (WILDCARDS & (b & !0x08 == 0x23))
}

/// Whether some byte of the word is zero. Subtracting 1 from every byte sets the high
/// bit of a zero byte, and of no byte below the lowest zero byte, so the result is
/// non-zero exactly when a byte is zero (a borrow may also mark bytes above it).
#[inline(always)]
const fn has_zero_byte(x: u64) -> bool {
    x.wrapping_sub(LOW_BITS) & !x & HIGH_BITS != 0
}

/// [`byte_hit`] for any of the eight bytes of a word.
#[inline(always)]
fn word_hit<const WILDCARDS: bool>(x: u64) -> bool {
    let wildcard = (x & !(0x08 * LOW_BITS)) ^ (0x23 * LOW_BITS);
    has_zero_byte(x) | (WILDCARDS & has_zero_byte(wildcard))
}

/// [`byte_hit`] for any byte of a block; the compiler turns it into SSE2 compares.
#[inline(always)]
fn block_hit<const WILDCARDS: bool, const N: usize>(block: &[u8; N]) -> bool {
    block
        .iter()
        .fold(false, |hit, &b| hit | byte_hit::<WILDCARDS>(b))
}

#[inline]
fn scan<const WILDCARDS: bool>(bytes: &[u8]) -> bool {
    // Blocks overlap where the length needs it: testing a byte twice is harmless.
    if let (Some(first), Some(last)) = (bytes.first_chunk::<32>(), bytes.last_chunk::<32>()) {
        // Up to 64 bytes (most topics): two blocks, no loop, one branch.
        if bytes.len() <= 64 {
            return block_hit::<WILDCARDS, 32>(first) | block_hit::<WILDCARDS, 32>(last);
        }
        let (blocks, _) = bytes.as_chunks::<32>();
        return blocks.iter().any(block_hit::<WILDCARDS, 32>) || block_hit::<WILDCARDS, 32>(last);
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<16>(), bytes.last_chunk::<16>()) {
        return block_hit::<WILDCARDS, 16>(first) | block_hit::<WILDCARDS, 16>(last);
    }
    // Under 16 bytes: words.
    if let (Some(a), Some(b)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        return word_hit::<WILDCARDS>(u64::from_ne_bytes(*a))
            | word_hit::<WILDCARDS>(u64::from_ne_bytes(*b));
    }
    if let (Some(a), Some(b)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        let word = u64::from(u32::from_ne_bytes(*a)) | u64::from(u32::from_ne_bytes(*b)) << 32;
        return word_hit::<WILDCARDS>(word);
    }
    bytes
        .iter()
        .fold(false, |hit, &b| hit | byte_hit::<WILDCARDS>(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length up to 100, every position, every byte value.
    #[test]
    fn scans_agree_with_a_byte_loop() {
        for len in 0..=100 {
            for at in 0..len.max(1) {
                for byte in 0..=u8::MAX {
                    let mut bytes = vec![b'a'; len];
                    if let Some(b) = bytes.get_mut(at) {
                        *b = byte;
                    }
                    let nul = bytes.contains(&0);
                    let any = bytes.iter().any(|b| matches!(b, 0 | b'+' | b'#'));
                    assert_eq!(contains_nul(&bytes), nul, "{bytes:?}");
                    assert_eq!(contains_nul_or_wildcard(&bytes), any, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn high_bytes_are_not_zero() {
        // Bytes with the high bit set, or equal to 1, are what a careless zero-byte test
        // mistakes for zero.
        for bytes in [
            &[0x01u8; 20][..],
            &[0x80; 20],
            &[0x01, 0x80, 0x01, 0x80, 0x01],
        ] {
            assert!(!contains_nul(bytes));
            assert!(!contains_nul_or_wildcard(bytes));
        }
    }
}
