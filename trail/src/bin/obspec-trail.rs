//! `obspec-trail`: a small command line over the library (run `obspec-trail help`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use obspec_trail::canonical::{Object, Record, TrailConfig, Value};
use obspec_trail::checkpoint::Checkpoint;
use obspec_trail::sign::{KeyRing, Signer, TrustedKeys};
use obspec_trail::writer::{Writer, WriterOptions};
use obspec_trail::{Date, Error, bundle, manifest, verify};

const HELP: &str = "obspec-trail: audit trails (JSON✯Atomic) — write, seal, export and verify.

usage:
  obspec-trail append-demo ROOT COUNT [THREADS] [--signed]
      append COUNT synthetic records for tenant `demo` (today, UTC) from THREADS
      threads; prints each id once it is durable
  obspec-trail seal ROOT DATE KID SEED_FILE
      seal DATE (YYYY-MM-DD): write manifests/yyyy/mm/dd.json, signed with the
      Ed25519 seed in SEED_FILE (64 hex digits) under key id KID, chained to the
      day before, and keys/KID.pub; records for DATE are refused afterwards
  obspec-trail checkpoint ROOT DATE KID SEED_FILE
      print the signed checkpoint of sealed day DATE (day, manifest hash, chain
      length); `obspec-roll roll` publishes one for every day it rolls
  obspec-trail keys ROOT
      print ROOT's public keys as trusted-keys lines, to hand to an auditor
  obspec-trail export ROOT FROM TO OUT [TENANT]
      write the auditor bundle (.tar.gz) of the sealed days FROM..TO
  obspec-trail verify BUNDLE|DIR [--trusted-keys FILE] [--checkpoint FILE|HEX]
                      [--from DATE] [--to DATE] [--tenant T]
                      [--max-entry-mib N] [--max-total-mib N]
      verify a bundle (.tar.gz, or an unpacked directory) and print every failure
  obspec-trail help | COMMAND --help

verify:
  --trusted-keys FILE   the keys you trust, obtained out of band: one a line,
                        `KID ed25519 HEX` (public key) or `KID blake3 HEX`
                        (fingerprint); without it the bundle's own keys are
                        used, and the first line of the report says so
  --checkpoint FILE|HEX the signed head published by the daily roll
                        (checkpoints/yyyy/mm/dd.json in the checkpoint store,
                        or the hex the roll prints): the bundle must end on
                        its day with its manifest hash, and start on the first
                        day of its chain unless --from says otherwise
  --from, --to, --tenant  the range and tenant you asked for
  --max-entry-mib, --max-total-mib  archive caps (default 32 and 128 MiB; the
                        verifier's peak memory stays under 256 MiB with them)

exit status of verify:
  0  VERIFIED           no failure; trusted keys and a checkpoint were given
  1  error              unreadable bundle, bad arguments, unreadable key or checkpoint file
  2  TAMPERED           at least one failure (each printed as `FAIL kind file:line: why`)
  3  NOT AUTHENTICATED  no failure, but no --trusted-keys: anyone could have made the bundle
  4  NOT ANCHORED       no failure with trusted keys, but no --checkpoint: dropped
                        newest days or re-sealed days would go unseen
other commands exit 0 on success, 1 on error.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() >= 2 && args[1..].iter().any(|a| a == "--help" || a == "-h") {
        return help();
    }
    let result = match args.first().map(String::as_str) {
        Some("append-demo") => append_demo(&args[1..]),
        Some("seal") => seal(&args[1..]),
        Some("checkpoint") => checkpoint(&args[1..]),
        Some("keys") => keys(&args[1..]),
        Some("export") => export(&args[1..]),
        Some("verify") => return verify_cmd(&args[1..]),
        Some("help" | "--help" | "-h") => return help(),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("obspec-trail: {e}");
            ExitCode::FAILURE
        }
    }
}

fn help() -> ExitCode {
    let mut out = std::io::stdout();
    // A closed stdout cannot be reported anywhere better than the exit code.
    let _ = writeln!(out, "{HELP}");
    ExitCode::SUCCESS
}

fn usage() -> Error {
    Error::Config("bad arguments; run `obspec-trail help`".into())
}

fn date(s: &str) -> Result<Date, Error> {
    Date::parse(s).ok_or_else(|| Error::Config(format!("{s:?} is not a YYYY-MM-DD date")))
}

fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout();
    writeln!(out, "{text}").map_err(|e| Error::Io { path: "stdout".into(), source: e })
}

fn append_demo(args: &[String]) -> Result<(), Error> {
    let signed = args.iter().any(|a| a == "--signed");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (Some(root), Some(count)) = (pos.first(), pos.get(1)) else {
        return Err(usage());
    };
    let count: u64 = count.parse().map_err(|_| usage())?;
    let threads: u64 = pos.get(2).map_or(Ok(4), |t| t.parse()).map_err(|_| usage())?;
    let mut opts = WriterOptions::default();
    if signed {
        // A fixed demo key: this command exists for tests and demos only.
        opts.signer = Some(Arc::new(Signer::from_seed("demo-key", &[42u8; 32])?));
        opts.signed_tenants.insert("demo".into());
    }
    let writer = Writer::open(Path::new(root.as_str()), TrailConfig::blueprint_default(), opts)?;
    for q in writer.recovered() {
        eprintln!(
            "quarantined {} torn bytes of {} into {}",
            q.bytes,
            q.stream_file.display(),
            q.quarantine_file.display()
        );
    }
    let ts = format!("{}T12:00:00Z", Date::today_utc());
    let out = Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|t| {
                let (writer, out, ts) = (&writer, &out, &ts);
                s.spawn(move || -> Result<(), Error> {
                    let mut i = t;
                    while i < count {
                        let id = format!("demo-{}-{i:08}", std::process::id());
                        let rec = Record::new()
                            .with("id", id.as_str())
                            .with("ts", ts.as_str())
                            .with("kind", "office.event")
                            .with("scope", Object::new().with("tenant", "demo"))
                            .with("data", Object::new().with("n", Value::Int(i64::try_from(i).unwrap_or(0))));
                        writer.append(rec)?;
                        let mut out = out.lock().map_err(|_| Error::WriterStopped)?;
                        writeln!(out, "{id}")
                            .and_then(|()| out.flush())
                            .map_err(|e| Error::Io { path: "stdout".into(), source: e })?;
                        i += threads.max(1);
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| Error::WriterStopped)?)
    })?;
    writer.close()
}

fn seal(args: &[String]) -> Result<(), Error> {
    let [root, day, kid, seed_file] = args else {
        return Err(usage());
    };
    let root = Path::new(root);
    let signer = Signer::load(kid, Path::new(seed_file))?;
    manifest::seal_and_store(root, date(day)?, &signer)?;
    print(&manifest::manifest_path(root, date(day)?).display().to_string())?;
    print(&obspec_trail::sign::public_key_path(root, kid).display().to_string())
}

fn checkpoint(args: &[String]) -> Result<(), Error> {
    let [root, day, kid, seed_file] = args else {
        return Err(usage());
    };
    let (root, day) = (Path::new(root), date(day)?);
    let signer = Signer::load(kid, Path::new(seed_file))?;
    let m = manifest::load_manifest(root, day)?.ok_or_else(|| Error::Manifest(format!("{day} is not sealed")))?;
    let c = Checkpoint::new(day, m.hash()?, manifest::chain_size(root, day)?, &signer)?;
    let bytes = c.to_bytes()?;
    let mut out = std::io::stdout();
    out.write_all(&bytes).map_err(|e| Error::Io { path: "stdout".into(), source: e })
}

fn keys(args: &[String]) -> Result<(), Error> {
    let [root] = args else {
        return Err(usage());
    };
    let ring = KeyRing::load_dir(Path::new(root))?;
    if ring.iter().next().is_none() {
        return Err(Error::Key(format!("{root}/keys holds no public key")));
    }
    for (kid, key) in ring.iter() {
        print(&TrustedKeys::line(kid, key))?;
    }
    Ok(())
}

fn export(args: &[String]) -> Result<(), Error> {
    let (root, from, to, out, tenant) = match args {
        [r, f, t, o] => (r, f, t, o, None),
        [r, f, t, o, tenant] => (r, f, t, o, Some(tenant.as_str())),
        _ => return Err(usage()),
    };
    let summary = bundle::export_bundle(Path::new(root), date(from)?, date(to)?, tenant, Path::new(out))?;
    print(&format!("{} files, {} bytes -> {out}", summary.files, summary.bytes))
}

fn verify_opts(flags: &[String]) -> Result<verify::VerifyOptions, Error> {
    let mut opts = verify::VerifyOptions::default();
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| Error::Config(format!("{flag} needs a value; run `obspec-trail help`")))?;
        let mib = |v: &str| -> Result<u64, Error> {
            v.parse::<u64>()
                .ok()
                .filter(|n| (1..=1 << 20).contains(n))
                .map(|n| n << 20)
                .ok_or_else(|| Error::Config(format!("{flag} takes a number of MiB, not {v:?}")))
        };
        match flag.as_str() {
            "--trusted-keys" => opts.trusted_keys = Some(TrustedKeys::load(Path::new(value))?),
            "--checkpoint" => opts.checkpoint = Some(Checkpoint::from_arg(value)?),
            "--from" => opts.expect.from = Some(date(value)?),
            "--to" => opts.expect.to = Some(date(value)?),
            "--tenant" => opts.expect.tenant = Some(value.clone()),
            "--max-entry-mib" => opts.max_entry_bytes = mib(value)?,
            "--max-total-mib" => opts.max_total_bytes = mib(value)?,
            other => return Err(Error::Config(format!("unknown option {other:?}; run `obspec-trail help`"))),
        }
    }
    Ok(opts)
}

fn verify_cmd(args: &[String]) -> ExitCode {
    let (Some(path), flags) = (args.first(), args.get(1..).unwrap_or_default()) else {
        eprintln!("obspec-trail: verify needs a bundle or a directory; run `obspec-trail help`");
        return ExitCode::FAILURE;
    };
    if path.starts_with("--") {
        eprintln!("obspec-trail: verify takes the bundle first, then options; run `obspec-trail help`");
        return ExitCode::FAILURE;
    }
    let opts = match verify_opts(flags) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("obspec-trail: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = verify::verify_path(Path::new(path), &opts);
    if std::env::var_os("OBSPEC_TRAIL_PEAK_RSS").is_some() {
        report_peak_rss();
    }
    match result {
        Ok(report) => {
            let mut out = std::io::stdout();
            // A closed stdout cannot be reported anywhere better than the exit code.
            let _ = write!(out, "{report}");
            ExitCode::from(report.verdict().exit_code())
        }
        Err(e) => {
            eprintln!("obspec-trail: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the process's peak resident set (`VmHWM`, KiB) to stderr: the
/// memory-bound tests read it (`OBSPEC_TRAIL_PEAK_RSS=1`).
fn report_peak_rss() {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
    {
        let kib = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim();
        eprintln!("obspec-trail: peak_rss_kib {kib}");
    }
}
