//! Lowercase hex digits of IDs, written and parsed without a per-digit loop
//! (trace-ids and span-ids in log lines and `traceparent` headers).

/// The 8 hex digits of `v`, most significant first, as the bytes of a `u64`
/// (SWAR: every nibble spread into its own byte, then turned into a digit).
#[inline]
fn hex8(v: u32) -> [u8; 8] {
    let mut x = u64::from(v);
    x = ((x & 0xffff_0000) << 16) | (x & 0xffff);
    x = ((x & 0x0000_ff00_0000_ff00) << 8) | (x & 0x0000_00ff_0000_00ff);
    x = ((x & 0x00f0_00f0_00f0_00f0) << 4) | (x & 0x000f_000f_000f_000f);
    // Byte i holds nibble i; 1 in the bytes whose nibble is 10 or more.
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    x += 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10);
    x.to_be_bytes()
}

/// The 16 hex digits of `v`.
#[inline]
pub(crate) fn hex16(v: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&hex8((v >> 32) as u32));
    b[8..].copy_from_slice(&hex8(v as u32));
    b
}

/// The 32 hex digits of `v`.
#[inline]
pub(crate) fn hex32(v: u128) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(&hex16((v >> 64) as u64));
    b[16..].copy_from_slice(&hex16(v as u64));
    b
}

/// Per byte of `x` (every byte below 0x80): 0x80 where the byte is at least `k`.
#[inline]
const fn at_least(x: u64, k: u8) -> u64 {
    (x + 0x0101_0101_0101_0101 * (0x80 - k as u64)) & 0x8080_8080_8080_8080
}

/// The value of 8 lowercase hex digits (most significant first), `None` if
/// any byte is not one (SWAR: the 8 bytes checked and converted at once).
#[inline]
fn parse8(b: [u8; 8]) -> Option<u32> {
    let x = u64::from_be_bytes(b);
    if x & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    let digit = at_least(x, b'0') & !at_least(x, b'9' + 1);
    let letter = at_least(x, b'a') & !at_least(x, b'f' + 1);
    if digit | letter != 0x8080_8080_8080_8080 {
        return None;
    }
    // '0'..'9' & 0xf is the digit; 'a'..'f' & 0xf is 1..6, plus 9.
    let n = (x & 0x0f0f_0f0f_0f0f_0f0f) + (letter >> 7) * 9;
    let n = ((n >> 4) | n) & 0x00ff_00ff_00ff_00ff;
    let n = ((n >> 8) | n) & 0x0000_ffff_0000_ffff;
    Some((((n >> 16) | n) & 0xffff_ffff) as u32)
}

/// The value of 16 lowercase hex digits, `None` if any byte is not one.
#[inline]
pub(crate) fn parse16(b: &[u8]) -> Option<u64> {
    let (hi, lo) = (b.get(..8)?, b.get(8..16)?);
    let hi = parse8(hi.try_into().ok()?)?;
    let lo = parse8(lo.try_into().ok()?)?;
    (b.len() == 16).then_some(u64::from(hi) << 32 | u64::from(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_matches_the_reference_on_every_byte() {
        let reference = |b: &[u8]| {
            b.iter().try_fold(0u64, |v, &c| match c {
                b'0'..=b'9' => Some(v << 4 | u64::from(c - b'0')),
                b'a'..=b'f' => Some(v << 4 | u64::from(c - b'a' + 10)),
                _ => None,
            })
        };
        let base = *b"0123456789abcdef";
        assert_eq!(parse16(&base), Some(0x0123_4567_89ab_cdef));
        for pos in 0..16 {
            for c in 0..=255u8 {
                let mut b = base;
                b[pos] = c;
                assert_eq!(parse16(&b), reference(&b), "byte {c:#x} at {pos}");
            }
        }
        for v in [0u64, 1, u64::MAX, 0xdead_beef_0000_ffff] {
            assert_eq!(parse16(&hex16(v)), Some(v));
        }
        assert_eq!(parse16(b"0123456789abcde"), None);
        assert_eq!(parse16(b"0123456789abcdef0"), None);
    }

    #[test]
    fn digits_match_format() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for v in [0u64, 1, 9, 10, 15, 16, 0xabcdef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(hex16(v), format!("{v:016x}").as_bytes());
        }
        for _ in 0..1000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let v = u128::from(x) << 64 | u128::from(x.rotate_left(17));
            assert_eq!(hex32(v), format!("{v:032x}").as_bytes());
        }
    }
}
