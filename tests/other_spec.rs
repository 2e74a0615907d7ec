//! A spec for a system unrelated to the blueprint (`codegen/tests/fixtures/payments`)
//! compiles, and its rendered artifacts pass their real consumers: `promtool check
//! config|rules`, `promtool test rules`, `amtool check-config` and Grafana's own
//! types (`tests/grafana-schema/check.mjs`), the same tools `cargo xtask check`
//! runs on the blueprint's output.

use std::path::{Path, PathBuf};
use std::process::Command;

use obspec_tests::root;

/// Renders the payments fixture into a fresh temporary directory.
fn render_payments(tmp: &Path) {
    let spec = root().join("codegen/tests/fixtures/payments/spec");
    let files =
        obspec_codegen::compile_dir(&spec, "spec").unwrap_or_else(|e| panic!("the payments spec compiles:\n{e}"));
    for f in files {
        let path = tmp.join(&f.path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dir");
        std::fs::write(&path, &f.contents).expect("write file");
    }
}

/// Runs a tool in `dir`; panics with its output when it fails.
fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {program} (install it with scripts/setup.sh): {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "`{program} {}` failed:\n{text}", args.join(" "));
    text
}

/// Files under `dir/sub` ending in `.yml`, as `sub/name`, sorted.
fn yml(dir: &Path, sub: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir.join(sub))
        .expect("list dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .map(|n| format!("{sub}/{n}"))
        .collect();
    out.sort();
    out
}

#[test]
fn payments_artifacts_pass_promtool_amtool_and_the_grafana_types() {
    let tmp: PathBuf = std::env::temp_dir().join(format!("obspec-payments-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    render_payments(&tmp);
    let obs = tmp.join("infra/observability");

    tool(&obs, "promtool", &["check", "config", "prometheus.yml"]);
    let rules = yml(&obs, "rules");
    assert_eq!(rules, ["rules/alerts.yml", "rules/slo-recording.yml"]);
    let mut args = vec!["check", "rules"];
    args.extend(rules.iter().map(String::as_str));
    tool(&obs, "promtool", &args);
    tool(&obs, "amtool", &["check-config", "alertmanager.yml"]);
    tool(&obs.join("staging"), "amtool", &["check-config", "alertmanager.yml"]);

    let tests = yml(&obs, "tests");
    assert!(tests.len() >= 4, "promtool tests: {tests:?}");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    let out = tool(&obs, "promtool", &args);
    assert_eq!(out.matches("SUCCESS").count(), tests.len(), "{out}");

    let dashboards: Vec<PathBuf> =
        ["01-checkout", "02-ledger"].iter().map(|d| obs.join(format!("grafana/dashboards/{d}.json"))).collect();
    let mut args: Vec<&str> = vec!["tests/grafana-schema/check.mjs"];
    let paths: Vec<String> = dashboards.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let out = tool(&root(), "node", &args);
    assert!(out.contains("2 ok, 0 failed"), "{out}");
    std::fs::remove_dir_all(&tmp).expect("clean up");
}
