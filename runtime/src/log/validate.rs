//! Shape checks for field values. Every check accepts only a closed character set
//! that cannot carry prose or embedded JSON, and needs no JSON escaping.

/// An opaque ID: `[A-Za-z0-9._:-]`, 1..=`max_len` bytes.
pub fn is_id(s: &str, max_len: usize) -> bool {
    !s.is_empty()
        && s.len() <= max_len
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A name: `[a-z0-9][a-z0-9_.-]*`, up to [`crate::log::NAME_MAX_LEN`] bytes.
pub fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => {}
        _ => return false,
    }
    b.len() <= crate::log::NAME_MAX_LEN
        && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.' | b'-'))
}

/// Parses a W3C trace-id (32 lowercase hex digits, not all zero).
pub fn parse_trace_id(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let (hi, lo) = b.split_at(16);
    let v = (u128::from(crate::hex::parse16(hi)?) << 64) | u128::from(crate::hex::parse16(lo)?);
    (v != 0).then_some(v)
}

/// Parses a non-negative decimal integer without sign, spaces or leading `+`.
pub fn parse_count(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An HTTP status code, 100..=599.
pub fn is_http_status(v: u64) -> bool {
    (100..=599).contains(&v)
}

/// Index of `s` in `list` (exact match).
pub fn index_of(list: &[&str], s: &str) -> Option<u16> {
    list.iter().position(|x| x.len() == s.len() && *x == s).and_then(|i| u16::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_id("ses_01H:x-y.z", 64));
        assert!(!is_id("has space", 64));
        assert!(!is_id("{\"a\":1}", 64));
        assert!(!is_id("", 64));
        assert!(!is_id("abcd", 3));
        assert!(is_name("search.v2"));
        assert!(!is_name("Search"));
        assert!(!is_name("_x"));
        assert!(!is_name(&"a".repeat(65)));
        assert_eq!(parse_trace_id("4bf92f3577b34da6a3ce929d0e0e4736"), Some(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736));
        assert_eq!(parse_trace_id(&"0".repeat(32)), None);
        assert_eq!(parse_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736"), None);
        assert_eq!(parse_count("12"), Some(12));
        assert_eq!(parse_count("-1"), None);
        assert_eq!(parse_count("1 2"), None);
        assert!(is_http_status(599) && !is_http_status(600) && !is_http_status(99));
    }
}
