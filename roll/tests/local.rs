//! The roll against a local directory store (`LocalFileSystem`), failure injection
//! through an `ObjectStore` wrapper, retention with the spec's figures, and the daily job
//! passing those figures (`infra/observability/retention.env`) to `obspec-roll prune`.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use obspec_roll::prune::PruneOptions;
use obspec_roll::{Error, open_store, prune, roll};
use obspec_trail::Date;

use common::*;

fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

const DAYS: [&str; 3] = ["2026-05-01", "2026-05-02", "2026-05-03"];

#[tokio::test]
async fn rolls_to_a_directory_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool");
    // Two days with records, then an empty day (sealed too).
    write_spool(&spool, &DAYS[..2], 4);
    let store = open_store(tmp.path().join("store").to_str().unwrap()).unwrap();
    let report = roll(&spool, store.as_ref(), date(DAYS[2]), Some(&signer()), &fast_opts()).await.unwrap();
    let trail_days: Vec<_> = report.days.iter().filter(|d| d.plane == obspec_roll::roll::Plane::Trails).collect();
    assert_eq!(trail_days.iter().map(|d| d.date.to_string()).collect::<Vec<_>>(), DAYS);
    assert!(trail_days.iter().all(|d| d.sealed_now));

    let objs = objects(store.as_ref()).await;
    for day in &DAYS[..2] {
        let m = store_manifest(store.as_ref(), day).await;
        assert_eq!(m.files.len(), 2);
        for f in &m.files {
            assert_eq!(objs.get(&f.path), Some(&f.blake3), "{} read back", f.path);
        }
        let d = date(day);
        assert!(objs.contains_key(&format!("logs/{}/core.ndjson", d.path())));
        assert!(objs.contains_key(&format!("logs-manifests/{}.json", d.path())));
    }
    assert!(store_manifest(store.as_ref(), DAYS[2]).await.files.is_empty());
    assert!(objs.contains_key(&format!("keys/{KID}.pub")));
    assert!(spool_files(&spool).is_empty(), "spool files left: {:?}", spool_files(&spool));
    assert_chain(store.as_ref(), &DAYS).await;
    let v = verify_from_store(store.as_ref(), DAYS[0], DAYS[2]).await;
    assert!(v.is_ok(), "{v}");
    assert_eq!(v.records, 16);

    // A second roll changes nothing.
    let again = roll(&spool, store.as_ref(), date(DAYS[2]), Some(&signer()), &fast_opts()).await.unwrap();
    assert_eq!(again.uploaded(), 0, "{again:?}");
    assert_eq!(objects(store.as_ref()).await, objs);

    // The next day without a key: it must be sealed, so the roll refuses.
    let err = roll(&spool, store.as_ref(), date("2026-05-04"), None, &fast_opts()).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    // With the key it chains to the last day even from a fresh spool (previous manifest fetched).
    let fresh = tmp.path().join("fresh");
    write_spool(&fresh, &["2026-05-04"], 1);
    roll(&fresh, store.as_ref(), date("2026-05-04"), Some(&signer()), &fast_opts()).await.unwrap();
    assert_chain(store.as_ref(), &["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04"]).await;
}

#[tokio::test]
async fn late_file_in_a_sealed_day_is_kept_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool");
    write_spool(&spool, &DAYS[..1], 2);
    let store = open_store(tmp.path().join("store").to_str().unwrap()).unwrap();
    roll(&spool, store.as_ref(), date(DAYS[0]), Some(&signer()), &fast_opts()).await.unwrap();
    // A record for the sealed day arrives later: the writer refuses it (it could never be sealed) ...
    let w = obspec_trail::writer::Writer::open(
        &spool,
        obspec_trail::canonical::TrailConfig::blueprint_default(),
        obspec_trail::writer::WriterOptions::default(),
    )
    .unwrap();
    let err = w.append(record("late", "t-beta", DAYS[0], 3)).unwrap_err();
    assert!(matches!(err, obspec_trail::Error::DaySealed { .. }), "{err}");
    w.close().unwrap();
    // ... and files written behind the writer's back are kept and reported, never lost.
    std::fs::create_dir_all(spool.join("audit/2026/05/01")).unwrap();
    for t in ["t-alpha", "t-beta"] {
        std::fs::write(spool.join(format!("audit/2026/05/01/{t}.ndjson")), "{}\n").unwrap();
    }
    write_log(&spool, DAYS[0], "core", 1);
    let report = roll(&spool, store.as_ref(), date(DAYS[0]), Some(&signer()), &fast_opts()).await;
    let report = report.unwrap();
    assert_eq!(report.leftovers().count(), 2, "{report:?}");
    assert_eq!(spool_files(&spool).iter().filter(|p| p.starts_with(spool.join("audit"))).count(), 2);
    // The log file that came back with other lines went up beside the first, named by content.
    let objs = objects(store.as_ref()).await;
    let late: Vec<_> = objs.keys().filter(|k| k.starts_with("logs/2026/05/01/core.late-")).collect();
    assert_eq!(late.len(), 1, "{objs:?}");
    let sidecar = obspec_roll::upload::get_bytes(store.as_ref(), &Path::from("logs-manifests/2026/05/01.json"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(obspec_roll::logs::LogDay::parse(&sidecar).unwrap().files.len(), 2);
}

#[tokio::test]
async fn multipart_upload_of_a_large_file() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool");
    write_spool(&spool, &DAYS[..1], 50);
    let store = open_store(tmp.path().join("store").to_str().unwrap()).unwrap();
    let mut opts = fast_opts();
    opts.upload.multipart_chunk = 1024;
    roll(&spool, store.as_ref(), date(DAYS[0]), Some(&signer()), &opts).await.unwrap();
    let v = verify_from_store(store.as_ref(), DAYS[0], DAYS[0]).await;
    assert!(v.is_ok(), "{v}");
}

/// A store that corrupts or fails some puts of `audit/` objects, then behaves.
#[derive(Debug)]
struct Flaky {
    inner: Arc<dyn ObjectStore>,
    corrupt: AtomicUsize,
    fail: AtomicUsize,
}

impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flaky({})", self.inner)
    }
}

fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok()
}

#[async_trait]
impl ObjectStore for Flaky {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if location.as_ref().starts_with("audit/") {
            if take(&self.fail) {
                return Err(object_store::Error::Generic { store: "flaky", source: "injected put failure".into() });
            }
            if take(&self.corrupt) {
                let mut bytes: Vec<u8> = payload.iter().flat_map(|b| b.iter().copied()).collect();
                if let Some(b) = bytes.first_mut() {
                    *b ^= 0x20;
                }
                return self.inner.put_opts(location, bytes.into(), opts).await;
            }
        }
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

fn flaky(dir: &std::path::Path, corrupt: usize, fail: usize) -> Flaky {
    Flaky {
        inner: open_store(dir.to_str().unwrap()).unwrap(),
        corrupt: AtomicUsize::new(corrupt),
        fail: AtomicUsize::new(fail),
    }
}

#[tokio::test]
async fn spool_is_kept_when_the_read_back_check_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool");
    write_spool(&spool, &DAYS[..1], 3);
    let before = spool_files(&spool);
    let store_dir = tmp.path().join("store");
    // Every put of a day file is corrupted: all attempts fail their read-back.
    let store = flaky(&store_dir, usize::MAX, 0);
    let err = roll(&spool, &store, date(DAYS[0]), Some(&signer()), &fast_opts()).await.unwrap_err();
    assert!(matches!(err, Error::Checksum { .. }), "{err}");
    assert_eq!(spool_files(&spool), before, "nothing may leave the spool");
    assert!(
        store.inner.head(&Path::from("manifests/2026/05/01.json")).await.is_err(),
        "the manifest goes up only after every file is verified"
    );

    // The store heals: the next roll replaces the corrupt object, verifies it, then deletes.
    let store = flaky(&store_dir, 0, 0);
    let report = roll(&spool, &store, date(DAYS[0]), Some(&signer()), &fast_opts()).await.unwrap();
    assert!(report.uploaded() > 0);
    assert!(spool_files(&spool).is_empty());
    let v = verify_from_store(&store, DAYS[0], DAYS[0]).await;
    assert!(v.is_ok(), "{v}");
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool");
    write_spool(&spool, &DAYS[..1], 3);
    // First put corrupted, next put fails outright, then all is well.
    let store = flaky(&tmp.path().join("store"), 1, 1);
    let report = roll(&spool, &store, date(DAYS[0]), Some(&signer()), &fast_opts()).await.unwrap();
    let retries: u32 = report.days.iter().map(|d| d.retries).sum();
    assert_eq!(retries, 2, "{report:?}");
    assert!(spool_files(&spool).is_empty());
    let v = verify_from_store(&store, DAYS[0], DAYS[0]).await;
    assert!(v.is_ok(), "{v}");
}

#[tokio::test]
async fn prune_deletes_only_sealed_verified_days() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool");
    write_spool(&spool, &DAYS, 2);
    let store = open_store(tmp.path().join("store").to_str().unwrap()).unwrap();
    roll(&spool, store.as_ref(), date(DAYS[2]), Some(&signer()), &fast_opts()).await.unwrap();
    // An unsealed day (no manifest) and a tampered day file.
    store.put(&Path::from("audit/2026/04/20/t-x.ndjson"), "x\n".into()).await.unwrap();
    store.put(&Path::from("audit/2026/05/02/t-beta.ndjson"), "tampered\n".into()).await.unwrap();

    // The spec's figures (`infra/observability/retention.env`), not the test's.
    let spec = retention();
    let keep = spec.trail_days;
    let opts = |today: Date, trail_days, dry_run| PruneOptions {
        today,
        trail_days,
        trail_allowed: spec.trail_min..=spec.trail_max,
        log_days: spec.log_days,
        dry_run,
        retry: fast_opts().upload,
    };
    let far = date("2026-06-10");
    let below = prune(store.as_ref(), &opts(far, spec.trail_min - 1, false)).await;
    assert!(below.is_err(), "below the policy minimum");
    let above = prune(store.as_ref(), &opts(far, spec.trail_max + 1, false)).await;
    assert!(above.is_err(), "above the policy maximum");

    // `today` such that keeping `keep` days prunes everything before 2026-05-11.
    let today = (0..keep).fold(date("2026-05-11"), |d, _| d.succ());
    // The logs keep their own figure: `today` so that all three log days are past it.
    let log_today = (0..spec.log_days).fold(date(DAYS[2]).succ(), |d, _| d.succ());
    let today = today.max(log_today);
    // Nothing is old enough yet.
    let r = prune(store.as_ref(), &opts(date(DAYS[2]), keep, false)).await.unwrap();
    assert!(r.trail_days.is_empty() && r.kept.is_empty() && r.deleted == 0, "{r:?}");

    let before = objects(store.as_ref()).await;
    let dry = prune(store.as_ref(), &opts(today, keep, true)).await.unwrap();
    assert_eq!(objects(store.as_ref()).await, before, "a dry run deletes nothing");

    // Every audit day is due (2026-05-02 is kept for its tampered file), and every log day.
    let r = prune(store.as_ref(), &opts(today, keep, false)).await.unwrap();
    assert_eq!(r, dry);
    assert_eq!(r.trail_days, [date("2026-05-01"), date("2026-05-03")]);
    assert_eq!(r.log_days, DAYS.iter().map(|d| date(d)).collect::<Vec<_>>());
    let kept: Vec<_> = r.kept.iter().map(|k| k.day.as_str()).collect();
    assert_eq!(kept, ["audit/2026/04/20", "audit/2026/05/02"], "{r:?}");
    let after = objects(store.as_ref()).await;
    assert!(!after.keys().any(|k| k.starts_with("audit/2026/05/01/")));
    assert!(after.keys().any(|k| k.starts_with("audit/2026/05/02/")));
    assert!(after.contains_key("audit/2026/04/20/t-x.ndjson"));
    assert!(!after.keys().any(|k| k.starts_with("logs/")));
    // Manifests, keys and log sidecars stay: the chain remains provable.
    for d in DAYS {
        assert!(after.contains_key(&format!("manifests/{}.json", date(d).path())));
    }
    assert!(after.contains_key(&format!("keys/{KID}.pub")));
}

/// The generated retention figures are the spec's, and the daily job passes
/// exactly them to `obspec-roll prune` (run with a stand-in binary recording its arguments).
#[test]
fn the_job_prunes_with_the_spec_retention() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let load = |f: &str| {
        let text = std::fs::read_to_string(root.join("spec").join(f)).unwrap();
        yaml_rust2::YamlLoader::load_from_str(&text).unwrap().remove(0)
    };
    let trails = load("trails.yaml");
    let r = &trails["trails"]["retention"];
    let logs = load("logs.yaml");
    let env = retention();
    let figure = |v: u32| Some(i64::from(v));
    assert_eq!(r["min_days"].as_i64(), figure(env.trail_min), "TRAIL_MIN_DAYS");
    assert_eq!(r["max_days"].as_i64(), figure(env.trail_max), "TRAIL_MAX_DAYS");
    assert_eq!(r["default_days"].as_i64(), figure(env.trail_days), "TRAIL_DAYS");
    assert_eq!(logs["logs"]["retention_days"].as_i64(), figure(env.log_days), "LOG_DAYS");

    let tmp = tempfile::tempdir().unwrap();
    let calls = tmp.path().join("calls");
    let bin = tmp.path().join("obspec-roll");
    std::fs::write(&bin, format!("#!/bin/sh\necho \"$*\" >> '{}'\n", calls.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = |extra: &[(&str, &str)]| {
        let _ = std::fs::remove_file(&calls);
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(root.join("jobs/rollup_trails_to_r2.sh"))
            .env("OBSPEC_SPOOL", tmp.path())
            .env("OBSPEC_ROLL_KEY_SEED", tmp.path().join("seed"))
            .env("OBSPEC_ROLL_KID", KID)
            .env("OBSPEC_ROLL_STORE", tmp.path().join("store"))
            .env("OBSPEC_ROLL_BIN", &bin)
            .env_remove("OBSPEC_ROLL_RETENTION_DAYS")
            .env_remove("OBSPEC_ROLL_LOG_RETENTION_DAYS")
            .env_remove("OBSPEC_ROLL_RETENTION_ENV")
            .env_remove("OBSPEC_ROLL_PRUNE");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&calls).unwrap();
        text.lines().find(|l| l.starts_with("prune ")).unwrap().to_owned()
    };
    let store = tmp.path().join("store");
    let expected = |days: u32| {
        format!(
            "prune --store {} --days {days} --log-days {} --min-days {} --max-days {}",
            store.display(),
            env.log_days,
            env.trail_min,
            env.trail_max
        )
    };
    assert_eq!(run(&[]), expected(env.trail_days));
    // An operator's choice within the range is passed on, with the spec's bounds for prune to check.
    let chosen = (env.trail_min + env.trail_max) / 2;
    assert_eq!(run(&[("OBSPEC_ROLL_RETENTION_DAYS", &chosen.to_string())]), expected(chosen));
}
