//! The roll against a real S3-protocol server on loopback (moto in server mode,
//! installed by `scripts/s3-server.sh`), through the same `object_store` S3 client a
//! user configures for R2 or MinIO (`s3://bucket?endpoint=…`), not the local backend.
//!
//! When moto cannot be installed or started, this test fails with the reason: it
//! never skips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use obspec_roll::{open_store, roll};
use obspec_trail::Date;

use common::*;

/// The moto server, killed on drop.
struct S3Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/s3-server.sh")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One plain HTTP/1.1 request to the server; returns the status line.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    Ok(resp.lines().next().unwrap_or_default().to_owned())
}

fn start_moto(dir: &std::path::Path) -> S3Server {
    let install = Command::new("bash").arg(script()).arg("install").output().expect("run scripts/s3-server.sh");
    assert!(
        install.status.success(),
        "moto (the S3 test server) could not be installed by scripts/s3-server.sh; this test needs it \
         (pip install 'moto[server]' into target/s3-venv). stderr:\n{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let port = free_port();
    let log = dir.join("moto.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("bash")
        .arg(script())
        .arg("run")
        .arg(port.to_string())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("start moto");
    let server = S3Server { child, port, log };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http(port, "GET", "/").is_ok_and(|l| l.contains(" 200")) {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "moto did not answer on 127.0.0.1:{port} within 60 s; its log:\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn roll_to_s3_protocol_server() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start_moto(tmp.path());
    let port = server.port;
    // object_store cannot create buckets: a plain PUT /bucket (moto accepts any credentials).
    let status = http(port, "PUT", "/obspec-audit").unwrap();
    assert!(status.contains(" 200"), "create bucket: {status}");

    // The URL a user would give for R2 or MinIO, with a prefix inside the bucket.
    let url = format!(
        "s3://obspec-audit/prod?endpoint=http://127.0.0.1:{port}&region=us-east-1\
         &access_key_id=test&secret_access_key=test"
    );
    let store = open_store(&url).unwrap();
    let days = ["2026-05-01", "2026-05-02", "2026-05-03"];
    let spool = tmp.path().join("spool");
    write_spool(&spool, &days[..2], 3);
    let date = |s: &str| Date::parse(s).unwrap();

    let report = roll(&spool, store.as_ref(), date(days[2]), Some(&signer()), &fast_opts()).await.unwrap();
    assert!(report.uploaded() >= 2 * 2 + 3 + 1 + 2 * 2, "{report:?}");

    // Objects exist, and what reads back matches the manifests.
    let objs = objects(store.as_ref()).await;
    for day in days {
        let m = store_manifest(store.as_ref(), day).await;
        assert_eq!(m.files.len(), if day == days[2] { 0 } else { 2 }, "{day}");
        for f in &m.files {
            assert_eq!(objs.get(&f.path), Some(&f.blake3), "{}: read-back BLAKE3", f.path);
        }
    }
    for day in &days[..2] {
        let d = date(day);
        let sidecar = obspec_roll::upload::get_bytes(
            store.as_ref(),
            &object_store::path::Path::from(format!("logs-manifests/{}.json", d.path())),
        )
        .await
        .unwrap()
        .unwrap();
        let sidecar = obspec_roll::logs::LogDay::parse(&sidecar).unwrap();
        let rel = format!("logs/{}/core.ndjson", d.path());
        assert_eq!(objs.get(&rel), Some(&sidecar.files[&rel].blake3), "{rel}");
    }
    // Spool files are gone; manifests chain; the auditor's verifier passes on a download.
    assert!(spool_files(&spool).is_empty(), "spool files left: {:?}", spool_files(&spool));
    assert_chain(store.as_ref(), &days).await;
    let v = verify_from_store(store.as_ref(), days[0], days[2]).await;
    assert!(v.is_ok(), "{v}");
    assert_eq!((v.days, v.files, v.records), (3, 4, 12));

    // A second roll is a no-op.
    let again = roll(&spool, store.as_ref(), date(days[2]), Some(&signer()), &fast_opts()).await.unwrap();
    assert_eq!(again.uploaded(), 0, "{again:?}");
    assert_eq!(objects(store.as_ref()).await, objs);

    // The same bucket without the prefix sees the objects under prod/.
    let root = open_store(&url.replace("/prod?", "?")).unwrap();
    let m = obspec_roll::upload::get_bytes(
        root.as_ref(),
        &object_store::path::Path::from("prod/manifests/2026/05/03.json"),
    )
    .await
    .unwrap();
    assert!(m.is_some());

    // Retention through the S3 client, the spec's figures: both data days are past them.
    let spec = retention();
    let opts = obspec_roll::PruneOptions {
        today: (0..spec.trail_days.max(spec.log_days)).fold(date(days[2]), |d, _| d.succ()),
        trail_days: spec.trail_days,
        trail_allowed: spec.trail_min..=spec.trail_max,
        log_days: spec.log_days,
        dry_run: false,
        retry: fast_opts().upload,
    };
    let pruned = obspec_roll::prune(store.as_ref(), &opts).await.unwrap();
    assert_eq!(pruned.trail_days, [date(days[0]), date(days[1])], "{pruned:?}");
    assert_eq!(pruned.log_days, [date(days[0]), date(days[1])], "{pruned:?}");
    assert!(pruned.kept.is_empty(), "{pruned:?}");
    let left = objects(store.as_ref()).await;
    assert!(!left.keys().any(|k| k.starts_with("audit/") || k.starts_with("logs/")), "{left:?}");
    assert_eq!(left.keys().filter(|k| k.starts_with("manifests/")).count(), 3);
    drop(server);
}
