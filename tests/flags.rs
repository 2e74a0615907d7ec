//! Every flag of `generated/CATALOGUE.md` works as documented: set through
//! its documented environment variable, and through the flags file, each
//! flag's value is in force and has its effect on the log plane (sampling
//! rate, spike, overrides, level), chaos light and the stage.

use std::sync::Arc;
use std::time::Duration;

use obspec::flags::{FlagKind, FlagRole, FlagSource, FlagValue, Flags};
use obspec::http::chaos::chaos_delay;
use obspec::log::{Emitted, LogPlane, LogRole, MemorySink};
use obspec_generated::{FLAGS, LOG_SCHEMA};
use tracing_subscriber::layer::SubscriberExt;

/// A value other than the default for every flag, in its text form (the same
/// for the environment and the file).
fn value(kind: &FlagKind) -> String {
    match *kind {
        FlagKind::Bool { default } => (!default).to_string(),
        FlagKind::Ratio { min, max, .. } => format!("{}", min + (max - min) / 2.0),
        FlagKind::Enum { values, default } => values[(default + 1) % values.len()].to_owned(),
        FlagKind::Millis { min, max, .. } => format!("{}", min + (max.min(10_000) - min) / 3),
        FlagKind::RateMap { max, .. } => {
            format!("{{\"{}\": {max}}}", LOG_SCHEMA.routes.first().copied().unwrap_or("/"))
        }
    }
}

fn expected(kind: &FlagKind, text: &str) -> FlagValue {
    match *kind {
        FlagKind::Bool { .. } => FlagValue::Bool(text == "true"),
        FlagKind::Ratio { .. } => FlagValue::Ratio(text.parse().expect("ratio")),
        FlagKind::Enum { values, .. } => FlagValue::Enum(values.iter().copied().find(|v| *v == text).expect("value")),
        FlagKind::Millis { .. } => FlagValue::Millis(text.parse().expect("millis")),
        FlagKind::RateMap { .. } => {
            let v: serde_json::Value = serde_json::from_str(text).expect("json");
            let m = v.as_object().expect("object").iter().map(|(k, r)| (k.as_str().into(), r.as_f64().unwrap_or(0.0)));
            FlagValue::RateMap(Arc::new(m.collect()))
        }
    }
}

/// Chaos with every request delayed by exactly the same, known delay.
fn chaos_overrides() -> Vec<(FlagRole, String)> {
    let mut v = vec![(FlagRole::ChaosLight, "true".to_owned())];
    if let Some(FlagKind::Ratio { max, .. }) = FLAGS.by_role(FlagRole::ChaosRatio).map(|d| d.kind) {
        v.push((FlagRole::ChaosRatio, format!("{max}")));
    }
    v.push((FlagRole::ChaosDelayMin, "7".to_owned()));
    v.push((FlagRole::ChaosDelayMax, "7".to_owned()));
    v
}

/// `(name, env var, text)` for every flag: a non-default value, with chaos
/// tuned so its effect is certain to show.
fn settings() -> Vec<(&'static str, &'static str, String)> {
    let chaos = chaos_overrides();
    FLAGS
        .flags
        .iter()
        .map(|d| {
            let text = d
                .role
                .and_then(|r| chaos.iter().find(|(c, _)| *c == r).map(|(_, t)| t.clone()))
                .unwrap_or_else(|| value(&d.kind));
            (d.name, d.env, text)
        })
        .collect()
}

/// Checks that every flag has the value of `settings()` and its effect.
fn assert_in_force(flags: &Arc<Flags>) {
    for (name, _, text) in settings() {
        let def = FLAGS.flags.iter().find(|d| d.name == name).expect("flag");
        assert_eq!(flags.get(name), Some(expected(&def.kind, &text)), "{name}");
    }
    let mem = MemorySink::new();
    let plane = LogPlane::builder(&LOG_SCHEMA, "core").memory(&mem).flags(Arc::clone(flags)).build().expect("plane");
    let rates = plane.rates();
    if let Some(FlagValue::Ratio(r)) = flags.get_role(FlagRole::SamplingSuccess) {
        assert!((rates.success - r.min(LOG_SCHEMA.sampling.max_override)).abs() < 1e-9, "success rate {rates:?}");
    }
    assert_eq!(rates.spike_on, flags.bool_role(FlagRole::SamplingSpike), "spike");
    if let Some(m) = flags.rate_map_role(FlagRole::SamplingOverrides) {
        for (k, r) in m.iter() {
            assert!(rates.overrides.iter().any(|o| *o.1 == **k && (o.2 - r).abs() < 1e-9), "override {k}: {rates:?}");
        }
    }
    // log.level: an event more verbose than the level is filtered out.
    if let Some(FlagValue::Enum(level)) = flags.get_role(FlagRole::LogLevel) {
        let filter: tracing::level_filters::LevelFilter = level.parse().expect("a tracing level");
        let route = LOG_SCHEMA.routes[0];
        let subscriber = tracing_subscriber::registry().with(plane.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(route = route, ok = false);
            tracing::debug!(route = route, ok = false);
        });
        assert!(plane.flush(Duration::from_secs(5)));
        let want = 1 + usize::from(filter >= tracing::Level::DEBUG);
        assert_eq!(mem.lines().len(), want, "level {level}: {:?}", mem.lines());
        let typed = plane.line().route(route).ok(true).emit();
        let info_kept = filter >= tracing::Level::INFO;
        assert!(info_kept || typed == Emitted::Filtered, "a success line is info: {typed:?} at {level}");
    }
    // Chaos light: on, at its highest ratio, with a fixed delay.
    assert!(flags.chaos_light());
    let delays: Vec<Duration> = (0..20_000).filter_map(|_| chaos_delay(flags)).collect();
    assert!(
        !delays.is_empty() && delays.iter().all(|d| d.as_millis() == 7),
        "chaos {:?}",
        &delays[..delays.len().min(5)]
    );
    // The stage.
    if let Some(FlagValue::Enum(stage)) = flags.get_role(FlagRole::Stage) {
        assert_eq!(flags.stage(), Some(stage));
    }
    // The latency field the log plane writes into is the spec's.
    assert!(LOG_SCHEMA.role(LogRole::Latency).is_some());
}

#[test]
fn the_catalogue_documents_each_flag_with_its_env_var() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("root");
    let cat = std::fs::read_to_string(root.join("generated/CATALOGUE.md")).expect("catalogue");
    assert!(!FLAGS.flags.is_empty());
    for d in FLAGS.flags {
        assert!(d.env.starts_with(FLAGS.env_prefix), "{}", d.env);
        assert!(
            cat.contains(&format!("| `{}` | `{}` |", d.name, d.env)),
            "{} / {} not in the catalogue",
            d.name,
            d.env
        );
    }
}

#[test]
fn each_flag_through_the_flags_file() {
    let dir = std::env::temp_dir().join(format!("obspec-flags-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("flags.conf");
    let text: String = settings().iter().map(|(n, _, v)| format!("{n} = {v}\n")).collect();
    std::fs::write(&path, format!("# every flag of the spec\n{text}")).expect("write");
    let flags = Arc::new(Flags::load(&FLAGS, FlagSource::none().with_file(&path)).expect("flags"));
    assert_in_force(&flags);
    // A bad value keeps every previous value and says where and why.
    let ratio = FLAGS.by_role(FlagRole::ChaosRatio).expect("chaos ratio");
    let FlagKind::Ratio { min, max, .. } = ratio.kind else { panic!("ratio") };
    std::fs::write(&path, format!("{text}{} = 0.9\n", ratio.name)).expect("write");
    let err = flags.reload().expect_err("out of bounds");
    let line = settings().len() + 1;
    assert_eq!(
        err.to_string(),
        format!("{}:{line}: flag {}: value 0.9 is outside [{min}, {max}]", path.display(), ratio.name)
    );
    assert_in_force(&flags);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn each_flag_through_its_environment_variable() {
    // Edition 2024 makes `set_var` unsafe (and unsafe code is forbidden), so
    // the child runs this test binary again with every variable set.
    if std::env::var("OBSPEC_FLAGS_TEST_CHILD").is_ok() {
        let flags = Arc::new(Flags::load(&FLAGS, FlagSource::env()).expect("flags"));
        assert_in_force(&flags);
        return;
    }
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("exe"));
    cmd.args(["--exact", "each_flag_through_its_environment_variable", "--nocapture"]);
    cmd.env("OBSPEC_FLAGS_TEST_CHILD", "1");
    for (_, env, v) in settings() {
        cmd.env(env, v);
    }
    let out = cmd.output().expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("1 passed"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    // A bad value in the environment is refused, naming the variable.
    let ratio = FLAGS.by_role(FlagRole::ChaosRatio).expect("chaos ratio");
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "each_flag_through_its_environment_variable", "--nocapture"])
        .env("OBSPEC_FLAGS_TEST_CHILD", "1")
        .env(ratio.env, "0.9")
        .output()
        .expect("child");
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        !out.status.success() && all.contains(&format!("{}: flag {}: value 0.9 is outside", ratio.env, ratio.name)),
        "{all}"
    );
}
