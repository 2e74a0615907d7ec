//! Property tests: no input makes `check` or `compile` panic.
//!
//! Loading and validation promise to turn every input into either a spec or
//! located diagnostics (ARCHITECTURE.md, "Architecture invariants"). Inputs:
//! random bytes read as lossy UTF-8, soups of YAML-ish tokens and spec
//! keywords, and mutations of the real spec (lines deleted, duplicated,
//! swapped, characters changed, text truncated). A panic fails the case and
//! proptest shrinks it to a minimal input. Case counts keep this to seconds.

mod common;

use std::sync::OnceLock;

use obspec_codegen::Input;
use proptest::prelude::*;

/// Runs everything a caller may run on an input: check, compile, and rendering every diagnostic
/// (`compile` runs `check` first, so one call covers both.)
fn exercise(inputs: &[Input]) {
    match obspec_codegen::compile(inputs) {
        Ok(files) => assert!(!files.is_empty()),
        Err(diags) => {
            assert!(!diags.is_empty());
            for d in &diags {
                let _ = d.to_string();
            }
            let _ = obspec_codegen::diag::render_all(&diags);
        }
    }
}

fn real() -> &'static [Input] {
    static REAL: OnceLock<Vec<Input>> = OnceLock::new();
    REAL.get_or_init(common::real)
}

/// Tokens a YAML spec is made of, plus the spec's own keywords and some troublemakers.
const TOKENS: &[&str] = &[
    "\n",
    "\n",
    "\n",
    "  ",
    "  ",
    "    ",
    "- ",
    "-",
    ": ",
    ":",
    "{",
    "}",
    "[",
    "]",
    ", ",
    "'",
    "\"",
    "#",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "? ",
    "!!str ",
    "!!map ",
    "|\n",
    ">\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\t",
    "\\",
    "~",
    "null",
    "true",
    "0",
    "-1",
    "1e400",
    "-0.0",
    ".nan",
    ".inf",
    "0x1F",
    "18446744073709551616",
    "99999999999999y",
    "5m",
    "0s",
    "project",
    "metrics",
    "labels",
    "error_tokens",
    "logs",
    "trails",
    "slos",
    "alerts",
    "dashboards",
    "flags",
    "resolutions",
    "components",
    "name",
    "kind",
    "unit",
    "buckets",
    "histogram",
    "counter",
    "gauge",
    "closed",
    "open",
    "error_token",
    "values",
    "max_values",
    "none",
    "fallback",
    "retry_after",
    "required",
    "note",
    "R01",
    "R1",
    "fields",
    "forbidden",
    "sampling",
    "type",
    "text",
    "data",
    "latency",
    "ratio",
    "threshold",
    "rule",
    "quantile_above",
    "ratio_above",
    "spike",
    "gauge_at_least",
    "expr",
    "variables",
    "rows",
    "panels",
    "queries",
    "default",
    "rate_map",
    "x_total",
    "x_seconds",
    "rate(x_total[5m])",
    "sum by (le) (",
    "{le=~\"(\"}",
    "é",
    "🦀",
    "\u{0}",
    "\u{feff}",
    "\r\n",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|t| t.concat())
}

/// One edit of a file's text.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    ReplaceChar(usize, char),
    InsertChar(usize, char),
    DeleteChar(usize),
    Truncate(usize),
    ReplaceWord(usize, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    let any_char = prop_oneof![
        prop::sample::select(vec![
            ':', '-', ' ', '\n', '{', '}', '[', ']', '"', '\'', '#', '&', '*', '|', '>', '\t', '0', '9', '.', 'x', '_'
        ]),
        any::<char>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<usize>(), any_char.clone()).prop_map(|(i, c)| Edit::ReplaceChar(i, c)),
        (any::<usize>(), any_char).prop_map(|(i, c)| Edit::InsertChar(i, c)),
        any::<usize>().prop_map(Edit::DeleteChar),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(i, w)| Edit::ReplaceWord(i, w)),
    ]
}

/// The byte offset of the `i`-th char boundary (modulo the text's length).
fn boundary(text: &str, i: usize) -> usize {
    let n = text.chars().count();
    if n == 0 {
        return 0;
    }
    text.char_indices().nth(i % n).map_or(0, |(b, _)| b)
}

fn apply(text: &str, e: &Edit) -> String {
    let mut lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len();
    match *e {
        Edit::DeleteLine(i) => {
            lines.remove(i % n);
            lines.join("\n")
        }
        Edit::DuplicateLine(i) => {
            let l = lines[i % n];
            lines.insert(i % n, l);
            lines.join("\n")
        }
        Edit::SwapLines(a, b) => {
            lines.swap(a % n, b % n);
            lines.join("\n")
        }
        Edit::ReplaceChar(i, c) => {
            let b = boundary(text, i);
            let mut s = text.to_owned();
            if let Some(old) = s[b..].chars().next() {
                s.replace_range(b..b + old.len_utf8(), c.encode_utf8(&mut [0; 4]));
            }
            s
        }
        Edit::InsertChar(i, c) => {
            let mut s = text.to_owned();
            s.insert(boundary(text, i), c);
            s
        }
        Edit::DeleteChar(i) => {
            let mut s = text.to_owned();
            if !s.is_empty() {
                s.remove(boundary(text, i));
            }
            s
        }
        Edit::Truncate(i) => text[..boundary(text, i)].to_owned(),
        Edit::ReplaceWord(i, w) => {
            // Replace the i-th whitespace-separated word.
            let words: Vec<(usize, &str)> = text
                .split_inclusive(char::is_whitespace)
                .scan(0, |at, piece| {
                    let start = *at;
                    *at += piece.len();
                    Some((start, piece.trim_end()))
                })
                .filter(|(_, w)| !w.is_empty())
                .collect();
            if words.is_empty() {
                return text.to_owned();
            }
            let (start, word) = words[i % words.len()];
            let mut s = text.to_owned();
            s.replace_range(start..start + word.len(), w);
            s
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        exercise(&[Input { name: "spec/random.yaml".to_owned(), text: text.clone() }]);
        // Beside a valid spec, so validation runs on a merged spec too.
        let mut inputs = common::small();
        inputs.push(Input { name: "spec/random.yaml".to_owned(), text });
        exercise(&inputs);
    }

    #[test]
    fn yaml_token_soups_never_panic(soup in token_soup(), extra in token_soup()) {
        exercise(&[Input { name: "spec/soup.yaml".to_owned(), text: soup.clone() }]);
        let mut inputs = common::small();
        inputs.push(Input { name: "spec/soup.yaml".to_owned(), text: format!("{soup}{extra}") });
        exercise(&inputs);
    }
}

fn mutated(base: &[Input], edits: &[(usize, Edit)]) -> Vec<Input> {
    let mut inputs = base.to_vec();
    for (file, e) in edits {
        let i = file % inputs.len();
        inputs[i].text = apply(&inputs[i].text, e);
    }
    inputs
}

fn small() -> &'static [Input] {
    static SMALL: OnceLock<Vec<Input>> = OnceLock::new();
    SMALL.get_or_init(common::small)
}

proptest! {
    // A compile of the small spec takes milliseconds in a debug build, of the real one a few hundred.
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutations_of_the_small_spec_never_panic(edits in prop::collection::vec((any::<usize>(), edit()), 1..6)) {
        exercise(&mutated(small(), &edits));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutations_of_the_real_spec_never_panic(edits in prop::collection::vec((any::<usize>(), edit()), 1..5)) {
        exercise(&mutated(real(), &edits));
    }
}

proptest! {
    // Names the Rust renderer turns into identifiers: a closed label's values, a
    // trail enum's values, a route's segments (once a panic at `Ident::new`).
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_closed_value_or_route_never_panics(a in "\\PC{0,6}", b in "[ -~]{0,6}", route in "/[ -~]{0,8}") {
        let json = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut inputs = small().to_vec();
        for input in &mut inputs {
            match input.name.as_str() {
                "spec/metrics.yaml" => input.text = input.text.replacen("[GET, POST]", &format!("[{}, {}]", json(&a), json(&b)), 1),
                "spec/trails.yaml" => input.text = input.text.replacen("[create, update]", &format!("[{}, update]", json(&b)), 1),
                "spec/components.yaml" => input.text = input.text.replacen("\"/v1/items/:id\"", &json(&route), 1),
                _ => {}
            }
        }
        exercise(&inputs);
    }
}

#[test]
fn the_unmutated_specs_compile() {
    // The baselines every mutation starts from must be valid, or the mutations test little.
    obspec_codegen::compile(real()).expect("the real spec compiles");
    obspec_codegen::compile(small()).expect("the small spec compiles");
}

#[test]
fn edits_do_what_they_say() {
    let t = "a: 1\nb: 2\nc: 3";
    assert_eq!(apply(t, &Edit::DeleteLine(1)), "a: 1\nc: 3");
    assert_eq!(apply(t, &Edit::DuplicateLine(4)), "a: 1\nb: 2\nb: 2\nc: 3");
    assert_eq!(apply(t, &Edit::SwapLines(0, 2)), "c: 3\nb: 2\na: 1");
    assert_eq!(apply(t, &Edit::ReplaceChar(0, 'é')), "é: 1\nb: 2\nc: 3");
    assert_eq!(apply(t, &Edit::InsertChar(1, '-')), "a-: 1\nb: 2\nc: 3");
    assert_eq!(apply(t, &Edit::DeleteChar(3)), "a: \nb: 2\nc: 3");
    assert_eq!(apply(t, &Edit::Truncate(5)), "a: 1\n");
    assert_eq!(apply(t, &Edit::ReplaceWord(2, "x")), "a: 1\nx 2\nc: 3");
}
