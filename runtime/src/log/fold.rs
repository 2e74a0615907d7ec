//! Folding of key names so case variants and Unicode look-alikes of a forbidden
//! name (fullwidth letters, Cyrillic/Greek homoglyphs, zero-width characters,
//! combining marks, digit substitutions) compare equal to it.
//!
//! The fold is: NFKD (compatibility decomposition, which turns fullwidth and
//! mathematical letters into ASCII and splits off accents) → drop combining marks
//! and invisible characters → map confusables to Latin → lowercase → drop
//! separators (`_`, `-`, spaces, punctuation) inside a segment.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds `name` to its skeleton: lowercase ASCII-ish letters and digits only.
///
/// ```
/// use obspec::log::fold::fold_name;
/// assert_eq!(fold_name("PAY_LOAD"), "payload");
/// assert_eq!(fold_name("ｐａｙｌｏａｄ"), "payload");
/// assert_eq!(fold_name("pаylоаd"), "payload"); // Cyrillic а, о
/// assert_eq!(fold_name("pay\u{200b}load"), "payload");
/// assert_eq!(fold_name("pr\u{0301}ompt"), "prompt");
/// ```
pub fn fold_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    fold_into(name, &mut out);
    out
}

fn fold_into(name: &str, out: &mut String) {
    for c in name.nfkd() {
        if is_combining_mark(c) || is_invisible(c) {
            continue;
        }
        let c = confusable(c);
        for l in c.to_lowercase() {
            if l.is_alphanumeric() {
                out.push(l);
            }
        }
    }
}

/// Splits a key into path segments (`a.b`, `a/b`, `a[0]`, `a:b`) so a forbidden
/// name nested in a dotted or bracketed key is still found.
fn segments(name: &str) -> impl Iterator<Item = &str> {
    name.split(['.', '/', '[', ']', ':', '\u{ff0e}', '\u{3002}']).filter(|s| !s.is_empty())
}

/// True if `name`, or any of its path segments, folds to one of `forbidden`.
///
/// ```
/// use obspec::log::fold::is_forbidden_name;
/// let f = &["payload", "message"];
/// assert!(is_forbidden_name("Payload", f));
/// assert!(is_forbidden_name("req.payload", f));
/// assert!(is_forbidden_name("ＭＥＳＳＡＧＥ", f));
/// assert!(!is_forbidden_name("payload_bytes", f));
/// ```
pub fn is_forbidden_name(name: &str, forbidden: &[&str]) -> bool {
    forbidden_match(name, forbidden).is_some()
}

/// The forbidden name that `name` (or one of its segments) folds to, if any.
pub fn forbidden_match<'f>(name: &str, forbidden: &[&'f str]) -> Option<&'f str> {
    let mut buf = String::with_capacity(name.len());
    let mut check = |s: &str| {
        buf.clear();
        fold_into(s, &mut buf);
        forbidden.iter().copied().find(|f| f.len() == buf.len() && fold_name(f) == buf)
    };
    if let Some(m) = check(name) {
        return Some(m);
    }
    segments(name).find_map(check)
}

/// Characters that render as nothing (zero-width, joiners, BOM, soft hyphen,
/// bidi controls, variation selectors, tag characters).
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0x1BCA0..=0x1BCA3 | 0xE0000..=0xE0FFF)
        || c.is_control()
}

/// Maps common homoglyphs (Cyrillic, Greek, Latin extensions, leet digits) to
/// the Latin letter they imitate.
fn confusable(c: char) -> char {
    match c {
        // Cyrillic lowercase.
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' | 'є' => 'e',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'у' => 'y',
        'х' => 'x',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'һ' => 'h',
        'ӏ' => 'l',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'т' => 't',
        'ь' => 'b',
        'п' => 'n',
        'г' => 'r',
        'ɡ' => 'g',
        // Cyrillic uppercase.
        'А' => 'a',
        'В' => 'b',
        'Е' | 'Ё' | 'Є' => 'e',
        'К' => 'k',
        'М' => 'm',
        'Н' => 'h',
        'О' => 'o',
        'Р' => 'p',
        'С' => 'c',
        'Т' => 't',
        'Х' => 'x',
        'У' => 'y',
        'І' | 'Ї' => 'i',
        'Ј' => 'j',
        'Ѕ' => 's',
        'Ԁ' => 'd',
        'Ԛ' => 'q',
        'Ԝ' => 'w',
        'Ӏ' => 'l',
        // Greek.
        'α' | 'Α' => 'a',
        'β' | 'Β' => 'b',
        'ε' | 'Ε' => 'e',
        'ζ' | 'Ζ' => 'z',
        'η' | 'Η' => 'h',
        'ι' | 'Ι' => 'i',
        'κ' | 'Κ' => 'k',
        'μ' | 'Μ' => 'm',
        'ν' | 'Ν' => 'n',
        'ο' | 'Ο' => 'o',
        'ρ' | 'Ρ' => 'p',
        'τ' | 'Τ' => 't',
        'υ' => 'u',
        'Υ' => 'y',
        'χ' | 'Χ' => 'x',
        'γ' => 'y',
        // Latin look-alikes NFKD leaves alone.
        'ı' => 'i',
        'ȷ' => 'j',
        'ł' | 'Ł' => 'l',
        'ø' | 'Ø' => 'o',
        'đ' | 'Đ' => 'd',
        'ß' => 's',
        'ſ' => 's',
        'ɑ' => 'a',
        'ɩ' => 'i',
        'ʏ' => 'y',
        'ᴀ' => 'a',
        // Digits and symbols used as letters.
        '0' => 'o',
        '1' | '|' => 'l',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &[&str] = &["payload", "message", "messages", "mensagens", "body", "text"];

    #[test]
    fn variants_fold_to_the_forbidden_name() {
        for v in [
            "payload",
            "Payload",
            "PAYLOAD",
            "pay_load",
            "pay-load",
            "ｐａｙｌｏａｄ",
            "pаylоаd",
            "рауload",
            "pay\u{200b}load",
            "p\u{0308}ayload",
            "p4yl0ad",
            "\u{feff}payload",
            "PAYLOAD\u{200d}",
            "𝐩𝐚𝐲𝐥𝐨𝐚𝐝",
            "meta.payload",
            "x[payload]",
            "ΒΟDΥ",
            "tеxt",
        ] {
            assert!(is_forbidden_name(v, F), "{v:?} should be forbidden");
        }
    }

    #[test]
    fn ordinary_names_are_not_forbidden() {
        for v in ["path", "elapsed_ms", "payload_bytes", "args_min", "textual", "okay"] {
            assert!(!is_forbidden_name(v, F), "{v:?} should not be forbidden");
        }
    }
}
