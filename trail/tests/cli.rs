//! The auditor's path with the commands a user types, through the real
//! `obspec-trail` binary and a bare relative root (`t`): append, seal (which
//! writes `keys/<kid>.pub`), export, hand over keys and checkpoint, verify;
//! and the exit status of each verdict.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::Path;
use std::process::{Command, Output};

use obspec_trail::Date;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obspec-trail")).args(args).current_dir(dir).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn seal_export_verify_as_a_user_types_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let day = Date::today_utc().to_string();

    for help in [&["verify", "--help"][..], &["help"], &["seal", "-h"]] {
        let o = run(dir, help);
        assert!(o.status.success(), "{help:?}: {}", text(&o));
        assert!(text(&o).contains("exit status of verify"), "{help:?}: {}", text(&o));
    }

    let o = run(dir, &["append-demo", "t", "12", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 12);
    std::fs::write(dir.join("seed.hex"), format!("{}\n", "07".repeat(32))).unwrap();
    let o = run(dir, &["seal", "t", &day, "k1", "seed.hex"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir.join("t/keys/k1.pub").is_file(), "seal writes the public key");
    let o = run(dir, &["export", "t", &day, &day, "bundle.tar.gz"]);
    assert!(o.status.success(), "{}", text(&o));

    let keys = run(dir, &["keys", "t"]);
    assert!(keys.status.success(), "{}", text(&keys));
    std::fs::write(dir.join("trusted.txt"), &keys.stdout).unwrap();
    let cp = run(dir, &["checkpoint", "t", &day, "k1", "seed.hex"]);
    assert!(cp.status.success(), "{}", text(&cp));
    std::fs::write(dir.join("cp.json"), &cp.stdout).unwrap();

    let o = run(dir, &["verify", "bundle.tar.gz"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).starts_with("AUTHENTICITY NOT CHECKED"), "{}", text(&o));
    let o = run(dir, &["verify", "bundle.tar.gz", "--trusted-keys", "trusted.txt"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let o = run(dir, &["verify", "bundle.tar.gz", "--trusted-keys", "trusted.txt", "--checkpoint", "cp.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).starts_with("VERIFIED:"), "{}", text(&o));
    assert!(text(&o).contains("12 records"), "{}", text(&o));
    // The checkpoint as the one-line hex the roll prints.
    let hex = obspec_trail::hex::encode(&cp.stdout);
    let o = run(dir, &["verify", "bundle.tar.gz", "--trusted-keys", "trusted.txt", "--checkpoint", &hex]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Another key under the same key id: tampered.
    let other = obspec_trail::sign::Signer::from_seed("k1", &[5; 32]).unwrap().verifying_key();
    std::fs::write(dir.join("other.txt"), obspec_trail::sign::TrustedKeys::line("k1", &other) + "\n").unwrap();
    let o = run(dir, &["verify", "bundle.tar.gz", "--trusted-keys", "other.txt", "--checkpoint", "cp.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("FAIL untrusted_key keys/k1.pub"), "{}", text(&o));

    // A record for the sealed day is refused.
    let o = run(dir, &["append-demo", "t", "1", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("already sealed"), "{}", text(&o));
    // Errors are errors.
    assert_eq!(run(dir, &["verify", "missing.tar.gz"]).status.code(), Some(1));
    assert_eq!(run(dir, &["verify", "bundle.tar.gz", "--bogus", "x"]).status.code(), Some(1));
}
