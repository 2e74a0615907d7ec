//! One vocabulary (issue 10), in the manner of rust-analyzer's `tidy.rs`:
//!
//! - no ErrorToken name, log field name, flag key or metric name of the spec
//!   appears as a string literal in the source of `runtime/`, `roll/`,
//!   `trail/` or `apps/` (comments and doc comments aside), except for the
//!   listed, reasoned exceptions, each of which must still be needed;
//! - in the Worker sources (`apps/*/src/**/*.ts`) no metric name is a string
//!   literal, and an ErrorToken name only as the argument of a function whose
//!   parameter is the generated `ErrorToken` union, which `tsc --strict` checks;
//! - renaming an ErrorToken, a log field and a flag on a copy of the spec
//!   either compiles with the roles intact (the runtime asks for roles, so its
//!   behaviour follows) or fails with located diagnostics.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use obspec_codegen::model::{LogRole, Spec, TokenRole};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

fn spec() -> Spec {
    let inputs = obspec_codegen::load::read_dir(&root().join("spec"), "spec").expect("read spec/");
    match obspec_codegen::check(&inputs) {
        Ok(l) => l.spec,
        Err(d) => panic!("the spec does not validate:\n{}", obspec_codegen::diag::render_all(&d)),
    }
}

/// Every name the spec defines that code must not spell, with what it is.
fn vocabulary(spec: &Spec) -> BTreeMap<String, &'static str> {
    let mut v = BTreeMap::new();
    for t in &spec.error_tokens {
        v.insert(t.token.clone(), "ErrorToken");
    }
    for f in &spec.logs.fields {
        v.insert(f.name.clone(), "log field");
    }
    for f in &spec.flags {
        v.insert(f.name.clone(), "flag");
    }
    for m in &spec.metrics {
        v.insert(m.name.clone(), "metric");
    }
    v
}

/// `(file relative to the root, literal)` pairs that may stay, and why.
const ALLOWED: &[(&str, &str, &str)] = &[
    ("runtime/src/http/error.rs", "code", "JSON-RPC 2.0's own `error.code` member"),
    (
        "runtime/src/http/error.rs",
        "correlation_id",
        "the error body's documented key (`{\"err\":…,\"correlation_id\":…}`)",
    ),
    (
        "runtime/src/http/limits.rs",
        "tenant",
        "the rate-limit bucket's name (value of the `bucket` label) and its /_health key",
    ),
    ("runtime/src/service/trail.rs", "ts", "trail record key (trails.key_order)"),
    ("runtime/src/service/trail.rs", "tenant", "trail record scope key (the trail stream)"),
    ("trail/src/canonical.rs", "ts", "trail record key (trails.key_order)"),
    ("trail/src/chain.rs", "ts", "trail record key (trails.key_order)"),
    ("trail/src/chain.rs", "tenant", "trail record scope key (the trail stream)"),
    ("trail/src/writer.rs", "ts", "trail record key (trails.key_order)"),
    ("trail/src/scan.rs", "ts", "trail record key (trails.key_order)"),
    ("trail/src/scan.rs", "tenant", "trail record scope key (the trail stream)"),
    ("trail/src/verify.rs", "tenant", "trail record scope key (the trail stream)"),
    ("trail/src/bundle.rs", "tenant", "trail record scope key (the trail stream)"),
    ("trail/src/manifest.rs", "tenant", "trail record scope key (the trail stream)"),
    ("trail/src/bin/obspec-trail.rs", "ts", "trail record key (trails.key_order)"),
    ("trail/src/bin/obspec-trail.rs", "tenant", "trail record scope key (the trail stream)"),
    ("apps/office/src/mcp.rs", "method", "JSON-RPC 2.0's own `method` member"),
];

/// The string literals of a Rust source with their line numbers; comments
/// (line, block, doc) are skipped, char literals and lifetimes are not strings.
fn string_literals(src: &str) -> Vec<(usize, String)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    while i < b.len() {
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(b[i] == b'\n');
                        i += 1;
                    }
                }
            }
            b'\'' => {
                // 'x', '\n', '\u{..}' are chars; 'a (no closing quote) is a lifetime.
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            b'r' if (b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = j + 1;
                let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                let mut k = start;
                while k < b.len() && !b[k..].starts_with(&close) {
                    k += 1;
                }
                let text = String::from_utf8_lossy(&b[start..k.min(b.len())]).into_owned();
                out.push((line, text.clone()));
                line += text.matches('\n').count();
                i = k + close.len();
            }
            b'"' => {
                let start = i + 1;
                let mut k = start;
                let mut text = String::new();
                while k < b.len() && b[k] != b'"' {
                    if b[k] == b'\\' {
                        k += 2;
                        text.push('\u{0}');
                        continue;
                    }
                    text.push(char::from(b[k]));
                    k += 1;
                }
                let raw = String::from_utf8_lossy(&b[start..k.min(b.len())]).into_owned();
                out.push((line, raw.clone()));
                line += raw.matches('\n').count();
                i = k + 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() && name != "target" && name != "node_modules" {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// The source directories scanned: each crate's `src/` under the scanned trees.
fn source_files() -> Vec<PathBuf> {
    let root = root();
    let mut dirs = vec![root.join("runtime/src"), root.join("roll/src"), root.join("trail/src")];
    if let Ok(apps) = std::fs::read_dir(root.join("apps")) {
        let mut apps: Vec<PathBuf> = apps.filter_map(|e| e.ok().map(|e| e.path().join("src"))).collect();
        apps.sort();
        dirs.extend(apps);
    }
    let mut files = Vec::new();
    for d in dirs {
        rust_files(&d, &mut files);
    }
    files
}

#[test]
fn the_lexer_sees_literals_not_comments() {
    let src = "// \"ok\"\n/* \"ts\" /* nested \"x\" */ */ let a = 'b'; let c: &'static str = \"route\";\n/// \"doc\"\nlet d = r#\"raw \"q\"\"#; let e = '\\'';";
    let lits: Vec<(usize, String)> = string_literals(src);
    assert_eq!(lits, vec![(2, "route".to_owned()), (4, "raw \"q\"".to_owned())]);
}

#[test]
fn no_spec_name_is_spelled_in_runtime_roll_trail_or_apps() {
    let spec = spec();
    let vocab = vocabulary(&spec);
    assert!(vocab.len() > 40, "the vocabulary is the spec's: {}", vocab.len());
    let root = root();
    let files = source_files();
    assert!(files.iter().any(|f| f.ends_with("runtime/src/http/ops.rs")), "scans the runtime");
    let mut found = Vec::new();
    let mut used: BTreeSet<(&str, &str)> = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap_or(f).to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(f).expect("read source");
        for (line, lit) in string_literals(&text) {
            let Some(kind) = vocab.get(&lit) else { continue };
            match ALLOWED.iter().find(|(p, l, _)| *p == rel && *l == lit) {
                Some((p, l, _)) => {
                    used.insert((p, l));
                }
                None => found.push(format!(
                    "{rel}:{line}: \"{lit}\" is the spec's {kind}; take it from the generated tables (by role)"
                )),
            }
        }
    }
    assert!(found.is_empty(), "spec names spelled in code:\n{}", found.join("\n"));
    let stale: Vec<String> = ALLOWED
        .iter()
        .filter(|(p, l, _)| !used.contains(&(*p, *l)) && root.join(p).exists())
        .map(|(p, l, why)| format!("{p}: \"{l}\" ({why})"))
        .collect();
    assert!(stale.is_empty(), "exceptions no longer needed (remove them):\n{}", stale.join("\n"));
}

/// A copy of `spec/` in a fresh temporary directory.
struct SpecCopy(PathBuf);

impl SpecCopy {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("obspec-tidy-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        for e in std::fs::read_dir(root().join("spec")).expect("spec/") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "yaml") {
                std::fs::copy(&p, dir.join(p.file_name().expect("name"))).expect("copy");
            }
        }
        Self(dir)
    }

    fn replace(&self, file: &str, from: &str, to: &str) {
        let p = self.0.join(file);
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&p, text.replace(from, to)).expect("write");
    }

    fn load(&self) -> Result<Spec, Vec<obspec_codegen::Diagnostic>> {
        let inputs = obspec_codegen::load::read_dir(&self.0, "spec").expect("read copy");
        obspec_codegen::compile(&inputs)?;
        obspec_codegen::check(&inputs).map(|l| l.spec)
    }
}

impl Drop for SpecCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn renaming_a_token_a_log_field_and_a_flag_keeps_the_roles() {
    let real = spec();
    let token = obspec_codegen::roles::token_for(&real, TokenRole::RateLimit).expect("rate_limit").token.clone();
    let field = obspec_codegen::roles::log_field_for(&real, LogRole::Latency).expect("latency").name.clone();
    let flag = obspec_codegen::roles::flag_for(&real, obspec_codegen::model::FlagRole::ChaosLight)
        .expect("chaos_light")
        .name
        .clone();
    let copy = SpecCopy::new("rename");
    // Every mention is renamed, as a team renaming in earnest would.
    for f in ["errors.yaml", "slos.yaml", "metrics.yaml", "dashboards.yaml"] {
        let text = std::fs::read_to_string(copy.0.join(f)).expect("read");
        if text.contains(&token) {
            copy.replace(f, &token, "SLOW_DOWN");
        }
    }
    copy.replace("logs.yaml", &format!("name: {field},"), "name: handling_ms,");
    copy.replace("flags.yaml", &format!("name: {flag},"), "name: chaos.on,");
    let renamed = match copy.load() {
        Ok(s) => s,
        Err(d) => panic!("the renamed copy should compile:\n{}", obspec_codegen::diag::render_all(&d)),
    };
    assert_eq!(
        obspec_codegen::roles::token_for(&renamed, TokenRole::RateLimit).map(|t| t.token.as_str()),
        Some("SLOW_DOWN")
    );
    assert_eq!(
        obspec_codegen::roles::log_field_for(&renamed, LogRole::Latency).map(|f| f.name.as_str()),
        Some("handling_ms")
    );
    assert_eq!(
        obspec_codegen::roles::flag_for(&renamed, obspec_codegen::model::FlagRole::ChaosLight).map(|f| f.name.as_str()),
        Some("chaos.on")
    );
    // The generated Rust maps the role to the renamed token, field and flag.
    let files =
        obspec_codegen::compile(&obspec_codegen::load::read_dir(&copy.0, "spec").expect("read")).expect("compile");
    let lib = files.iter().find(|f| f.path == "generated/src/lib.rs").expect("lib.rs");
    assert!(lib.contents.contains("::obspec::http::TokenRole::RateLimit => ErrorToken::SlowDown"), "role table");
    assert!(lib.contents.contains("name: \"handling_ms\""), "log schema");
    assert!(lib.contents.contains("env: \"OBSPEC_CHAOS_ON\""), "flag table with its env var");

    // Dropping a role instead fails, located at the vocabulary.
    let copy = SpecCopy::new("drop-role");
    copy.replace("errors.yaml", ", role: rate_limit", "");
    let d = copy.load().expect_err("a role no token holds");
    assert!(
        d.iter().any(|x| x.message == "no ErrorToken has `role: rate_limit`"
            && x.file == "spec/errors.yaml"
            && x.pos.line > 1),
        "{}",
        obspec_codegen::diag::render_all(&d)
    );
    // Giving the latency role to a field of another type fails at that field.
    let copy = SpecCopy::new("bad-role");
    copy.replace("logs.yaml", "role: bytes_in", "role: route");
    let d = copy.load().expect_err("a role on the wrong type");
    assert!(
        d.iter().all(|x| x.file == "spec/logs.yaml" && x.path.contains("role")),
        "{}",
        obspec_codegen::diag::render_all(&d)
    );
}

/// The Worker sources (`apps/*/src/**/*.ts`, not the generated `obs/`).
fn typescript_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() && name != "node_modules" {
                walk(&p, out);
            } else if name.ends_with(".ts") && !name.ends_with(".d.ts") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    if let Ok(apps) = std::fs::read_dir(root().join("apps")) {
        let mut apps: Vec<PathBuf> = apps.filter_map(|e| e.ok().map(|e| e.path().join("src"))).collect();
        apps.sort();
        for d in apps {
            walk(&d, &mut files);
        }
    }
    files
}

/// Functions of `text` whose first parameter is typed with the generated
/// `ErrorToken` union (`function f(token: ErrorToken…`): a literal passed
/// there is checked by `tsc --strict` (the app's tsconfig, run by its tests).
fn error_token_functions(text: &str) -> Vec<String> {
    text.match_indices("function ")
        .filter_map(|(i, _)| {
            let rest = &text[i + "function ".len()..];
            let (name, params) = rest.split_once('(')?;
            let first = params.split([',', ')']).next()?;
            let ty = first.split_once(':')?.1.trim();
            (ty == "ErrorToken" && !name.trim().is_empty()).then(|| name.trim().to_owned())
        })
        .collect()
}

#[test]
fn the_worker_names_tokens_only_where_tsc_checks_them_and_no_metric() {
    let spec = spec();
    let tokens: BTreeSet<&str> = spec.error_tokens.iter().map(|t| t.token.as_str()).collect();
    let metrics: BTreeSet<&str> = spec.metrics.iter().map(|m| m.name.as_str()).collect();
    let root = root();
    let files = typescript_files();
    assert!(files.iter().any(|f| f.ends_with("apps/gateway/src/index.ts")), "scans the gateway Worker");
    let tsconfig = std::fs::read_to_string(root.join("apps/gateway/tsconfig.json")).expect("read tsconfig");
    assert!(
        tsconfig.contains("\"strict\": true") && tsconfig.contains("src/**/*.ts"),
        "the Worker's sources are compiled by tsc --strict"
    );
    let (mut found, mut checked) = (Vec::new(), 0usize);
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap_or(f).to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(f).expect("read source");
        let typed = error_token_functions(&text);
        let lines: Vec<&str> = text.lines().collect();
        for (line, lit) in string_literals(&text) {
            if metrics.contains(lit.as_str()) {
                found.push(format!("{rel}:{line}: \"{lit}\" is the spec's metric; call the generated emitter"));
            } else if tokens.contains(lit.as_str()) {
                let src = lines.get(line - 1).copied().unwrap_or("");
                let passed = typed.iter().any(|f| src.contains(&format!("{f}(\"{lit}\"")));
                if passed {
                    checked += 1;
                } else {
                    found.push(format!(
                        "{rel}:{line}: \"{lit}\" is the spec's ErrorToken outside a parameter typed ErrorToken \
                         (tsc cannot check it): pass it to one, or use the generated tables (ERROR_STATUS)"
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "spec names spelled in the Worker:\n{}", found.join("\n"));
    // The Worker does answer with tokens: through the generated tables
    // (`ERROR_TOKEN.<name>`, `ERROR_ROLE.<role>`) or a typed parameter.
    let worker = std::fs::read_to_string(root.join("apps/gateway/src/index.ts")).expect("read the Worker");
    let by_table = tokens.iter().filter(|t| worker.contains(&format!("ERROR_TOKEN.{t}"))).count()
        + worker.matches("ERROR_ROLE.").count();
    assert!(
        checked + by_table > 0,
        "the Worker answers with ErrorTokens through the generated tables or a typed function"
    );
}

#[test]
fn error_token_parameters_are_recognised() {
    let src = "function errorResponse(token: ErrorToken, ms?: number) {}\nfunction other(t: string) {}\nfunction f2(x: ErrorTokenish) {}";
    assert_eq!(error_token_functions(src), vec!["errorResponse".to_owned()]);
}
