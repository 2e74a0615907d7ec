//! The crash test: a child process appends and prints each acknowledged id;
//! it is SIGKILLed mid-stream; every acknowledged record must then be on
//! disk and the chain must verify and resume.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use obspec_trail::Date;
use obspec_trail::canonical::TrailConfig;
use obspec_trail::writer::{Writer, WriterOptions, stream_files};

fn run_and_kill(root: &std::path::Path, kill_after: usize, signed: bool) -> BTreeSet<String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_obspec-trail"));
    cmd.arg("append-demo").arg(root).arg("1000000").arg("4");
    if signed {
        cmd.arg("--signed");
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = BTreeSet::new();
    while acked.len() < kill_after {
        let id = lines.next().expect("child ended before the kill").unwrap();
        acked.insert(id);
    }
    // `Child::kill` sends SIGKILL on Unix: no destructor, no flush runs in the child.
    child.kill().unwrap();
    // Ids printed before death were acknowledged too: read to EOF.
    for l in lines {
        match l {
            Ok(id) if !id.is_empty() => {
                acked.insert(id);
            }
            _ => break,
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child must have been killed, not finished");
    acked
}

fn check(root: &std::path::Path, acked: &BTreeSet<String>) {
    let files = stream_files(root).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let day = Date::today_utc();
    // Reopen: quarantines any torn tail, then the chain must verify end to end.
    let w = Writer::open(root, TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
    for q in w.recovered() {
        let torn = std::fs::read(&q.quarantine_file).unwrap();
        assert!(!torn.is_empty() && !torn.contains(&b'\n'));
    }
    let ids = common::chain_ids(file, "demo", day);
    let present: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(present.len(), ids.len(), "no record twice");
    let missing: Vec<_> = acked.difference(&present).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert!(ids.len() >= acked.len());
    // The chain resumes after the crash.
    let next = w.append(common::record("after-crash", "demo", &day.to_string())).unwrap();
    assert_eq!(next.seq, ids.len() as u64 + 1);
    w.close().unwrap();
    assert_eq!(common::chain_ids(file, "demo", day).len(), ids.len() + 1);
}

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let acked = run_and_kill(dir.path(), 300, false);
    assert!(acked.len() >= 300);
    check(dir.path(), &acked);
    // Crash again on the same root: recovery and resumption compose.
    let acked2 = run_and_kill(dir.path(), 200, false);
    let mut all = acked.clone();
    all.extend(acked2);
    check(dir.path(), &all);
}

#[test]
fn sigkill_mid_stream_with_signed_records() {
    let dir = tempfile::tempdir().unwrap();
    let acked = run_and_kill(dir.path(), 150, true);
    check(dir.path(), &acked);
}
