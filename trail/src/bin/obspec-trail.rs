//! `obspec-trail`: a small command line over the library.
//!
//! * `append-demo ROOT COUNT [THREADS] [--signed]`: appends COUNT synthetic
//!   records for tenant `demo` from THREADS threads and prints each id once
//!   it is acknowledged (durable). The crash test kills it mid-stream.
//! * `seal ROOT DATE KID SEED_FILE`: seals a day (writes its manifest).
//! * `export ROOT FROM TO OUT [TENANT]`: writes an auditor bundle.
//! * `verify PATH`: verifies a bundle (`.tar.gz`) or an unpacked bundle directory.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use obspec_trail::canonical::{Object, Record, TrailConfig, Value};
use obspec_trail::sign::Signer;
use obspec_trail::writer::{Writer, WriterOptions};
use obspec_trail::{Date, Error, bundle, manifest, verify};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("append-demo") => append_demo(&args[1..]),
        Some("seal") => seal(&args[1..]),
        Some("export") => export(&args[1..]),
        Some("verify") => return verify_cmd(&args[1..]),
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

fn usage() -> Error {
    Error::Config(
        "usage: obspec-trail append-demo ROOT COUNT [THREADS] [--signed] | seal ROOT DATE KID SEED_FILE \
         | export ROOT FROM TO OUT [TENANT] | verify PATH"
            .into(),
    )
}

fn date(s: &str) -> Result<Date, Error> {
    Date::parse(s).ok_or_else(|| Error::Config(format!("{s:?} is not a YYYY-MM-DD date")))
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
    let day = date(day)?;
    let signer = Signer::load(kid, Path::new(seed_file))?;
    let prev = manifest::load_manifest(root, day.pred())?;
    let m = manifest::seal_day(root, day, prev.as_ref(), &signer)?;
    let path = manifest::store_manifest(root, &m)?;
    let mut out = std::io::stdout();
    writeln!(out, "{}", path.display()).map_err(|e| Error::Io { path: "stdout".into(), source: e })
}

fn export(args: &[String]) -> Result<(), Error> {
    let (root, from, to, out, tenant) = match args {
        [r, f, t, o] => (r, f, t, o, None),
        [r, f, t, o, tenant] => (r, f, t, o, Some(tenant.as_str())),
        _ => return Err(usage()),
    };
    let summary = bundle::export_bundle(Path::new(root), date(from)?, date(to)?, tenant, Path::new(out))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{} files, {} bytes -> {out}", summary.files, summary.bytes)
        .map_err(|e| Error::Io { path: "stdout".into(), source: e })
}

fn verify_cmd(args: &[String]) -> ExitCode {
    let [path] = args else {
        eprintln!("obspec-trail: {}", usage());
        return ExitCode::FAILURE;
    };
    match verify::verify_path(Path::new(path), &verify::VerifyOptions::default()) {
        Ok(report) => {
            let mut out = std::io::stdout();
            // A closed stdout cannot be reported anywhere better than the exit code.
            let _ = write!(out, "{report}");
            if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(2) }
        }
        Err(e) => {
            eprintln!("obspec-trail: {e}");
            ExitCode::FAILURE
        }
    }
}
