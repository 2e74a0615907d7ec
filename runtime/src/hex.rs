//! Lowercase hex digits of IDs without a per-digit loop (trace-ids and
//! span-ids in log lines and `traceparent` headers).

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

#[cfg(test)]
mod tests {
    use super::*;

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
