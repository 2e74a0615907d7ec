//! `obspec-roll`: the daily roll of audit trails and logs to object storage, and retention.
//!
//! ```text
//! obspec-roll roll  --spool DIR [--date YYYY-MM-DD] [--store URL] [--key-seed FILE --kid KID]
//!                   [--checkpoint-store URL] [--multipart-chunk BYTES]
//!                   [--no-logs] [--no-trails] [--keep-local]
//! obspec-roll prune --store URL --days N --log-days N --min-days N --max-days N
//!                   [--today YYYY-MM-DD] [--dry-run]
//! ```
//!
//! `--date` defaults to yesterday (UTC); `--store` to `$OBSPEC_ROLL_STORE`, else the
//! directory `<spool>/archive`. With a key, each rolled day's signed checkpoint goes to
//! `--checkpoint-store` (default: the store; objects `checkpoints/…`) and to stdout as
//! `checkpoint YYYY-MM-DD HEX`, the form `obspec-trail verify --checkpoint` takes. Exit status: 0 done, 1 failed (or `roll` left files in
//! the spool that no manifest lists, or `prune` kept a day past retention that does not
//! verify), 2 usage error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use obspec_roll::prune::PruneOptions;
use obspec_roll::roll::{Plane, RollOptions};
use obspec_roll::{open_store, upload};
use obspec_trail::Date;
use obspec_trail::sign::Signer;

const USAGE: &str = "usage:
  obspec-roll roll  --spool DIR [--date YYYY-MM-DD] [--store URL] [--key-seed FILE --kid KID]
                    [--checkpoint-store URL] [--multipart-chunk BYTES]
                    [--no-logs] [--no-trails] [--keep-local]
  obspec-roll prune --store URL --days N --log-days N --min-days N --max-days N
                    [--today YYYY-MM-DD] [--dry-run]

store URL: a directory, file:///dir, s3://bucket[/prefix][?endpoint=URL&region=R] or
r2://bucket[/prefix]?endpoint=https://ACCOUNT.r2.cloudflarestorage.com; credentials from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Default store: $OBSPEC_ROLL_STORE, else <spool>/archive.
prune: audit days kept (--days, within --min-days..=--max-days) and log days kept (--log-days),
the spec's figures in infra/observability/retention.env (jobs/rollup_trails_to_r2.sh passes them).
With a key, the signed checkpoint of each rolled day is written to checkpoints/yyyy/mm/dd.json
and checkpoints/latest.json of the checkpoint store (default: the store; give a second bucket or
prefix the store's owner cannot rewrite alone) and printed as `checkpoint YYYY-MM-DD HEX`.";

enum Failure {
    Usage(String),
    Run(String),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(Failure::Usage(m)) => {
            let _ = writeln!(std::io::stderr(), "obspec-roll: {m}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Run(m)) => {
            let _ = writeln!(std::io::stderr(), "obspec-roll: error: {m}");
            ExitCode::from(1)
        }
    }
}

/// Parsed `--flag value` and `--switch` arguments.
struct Args {
    values: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Args {
    fn parse(args: &[String], value_flags: &[&str], switch_flags: &[&str]) -> Result<Args, Failure> {
        let mut out = Args { values: Vec::new(), switches: Vec::new() };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
                _ => (a.as_str(), None),
            };
            if value_flags.contains(&flag) {
                let v = match inline {
                    Some(v) => v,
                    None => it.next().cloned().ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))?,
                };
                out.values.push((flag.to_owned(), v));
            } else if switch_flags.contains(&flag) && inline.is_none() {
                out.switches.push(flag.to_owned());
            } else {
                return Err(Failure::Usage(format!("unknown argument {a:?}")));
            }
        }
        Ok(out)
    }

    fn get(&self, flag: &str) -> Option<&str> {
        self.values.iter().rev().find(|(f, _)| f == flag).map(|(_, v)| v.as_str())
    }

    fn has(&self, flag: &str) -> bool {
        self.switches.iter().any(|s| s == flag)
    }

    fn date(&self, flag: &str) -> Result<Option<Date>, Failure> {
        self.get(flag)
            .map(|s| Date::parse(s).ok_or_else(|| Failure::Usage(format!("{flag} must be YYYY-MM-DD, not {s:?}"))))
            .transpose()
    }

    /// A required number of days (the spec's figures carry no default here).
    fn days(&self, flag: &str) -> Result<u32, Failure> {
        match self.get(flag) {
            None => Err(Failure::Usage(format!("prune needs {flag} N (see infra/observability/retention.env)"))),
            Some(s) => s.parse().map_err(|_| Failure::Usage(format!("{flag} must be a number of days, not {s:?}"))),
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Run(format!("cannot start the async runtime: {e}")))
}

fn run(args: &[String]) -> Result<ExitCode, Failure> {
    match args.first().map(String::as_str) {
        Some("roll") => cmd_roll(&args[1..]),
        Some("prune") => cmd_prune(&args[1..]),
        Some("-h" | "--help" | "help") => {
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(Failure::Usage(format!("unknown command {other:?}"))),
        None => Err(Failure::Usage("no command".into())),
    }
}

fn cmd_roll(args: &[String]) -> Result<ExitCode, Failure> {
    let a = Args::parse(
        args,
        &["--spool", "--date", "--store", "--key-seed", "--kid", "--checkpoint-store", "--multipart-chunk"],
        &["--no-logs", "--no-trails", "--keep-local"],
    )?;
    let spool = PathBuf::from(a.get("--spool").ok_or_else(|| Failure::Usage("roll needs --spool DIR".into()))?);
    let date = a.date("--date")?.unwrap_or_else(|| Date::today_utc().pred());
    let store_url = match a.get("--store") {
        Some(s) => s.to_owned(),
        None => std::env::var("OBSPEC_ROLL_STORE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| spool.join("archive").display().to_string()),
    };
    let signer = match (a.get("--key-seed"), a.get("--kid")) {
        (Some(seed), Some(kid)) => {
            Some(Signer::load(kid, std::path::Path::new(seed)).map_err(|e| Failure::Run(e.to_string()))?)
        }
        (None, None) => None,
        _ => return Err(Failure::Usage("--key-seed and --kid go together".into())),
    };
    let mut opts = RollOptions {
        trails: !a.has("--no-trails"),
        logs: !a.has("--no-logs"),
        delete_local: !a.has("--keep-local"),
        ..RollOptions::default()
    };
    if let Some(url) = a.get("--checkpoint-store") {
        opts.checkpoint_store = Some(open_store(url).map_err(|e| Failure::Run(e.to_string()))?);
    }
    if let Some(n) = a.get("--multipart-chunk") {
        opts.upload.multipart_chunk = n
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Failure::Usage(format!("--multipart-chunk must be a number of bytes, not {n:?}")))?;
    }
    let store = open_store(&store_url).map_err(|e| Failure::Run(e.to_string()))?;
    let report = runtime()?
        .block_on(obspec_roll::roll(&spool, store.as_ref(), date, signer.as_ref(), &opts))
        .map_err(|e| Failure::Run(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    for d in &report.days {
        let plane = match d.plane {
            Plane::Trails => "audit",
            Plane::Logs => "logs",
        };
        let _ = writeln!(
            out,
            "{plane} {}: {}{} objects, {} uploaded, {} already present, {} retries, {} spool files deleted{}",
            d.date,
            if d.sealed_now { "sealed, " } else { "" },
            d.objects,
            d.uploaded,
            d.already_present,
            d.retries,
            d.deleted_local,
            d.manifest_hash.map(|h| format!(", manifest {}", upload::hex(&h))).unwrap_or_default(),
        );
    }
    for c in &report.checkpoints {
        let hex = c.to_hex().map_err(|e| Failure::Run(e.to_string()))?;
        let _ = writeln!(out, "checkpoint {} {hex}", c.date);
    }
    if report.checkpoints.is_empty() && opts.trails {
        let _ = writeln!(std::io::stderr(), "obspec-roll: warning: no signing key: no checkpoint published");
    }
    let leftovers: Vec<_> = report.leftovers().collect();
    for f in &leftovers {
        let _ = writeln!(
            std::io::stderr(),
            "obspec-roll: warning: {} is in a rolled day but no manifest lists it (written after the seal?): kept",
            f.display()
        );
    }
    let _ = writeln!(out, "rolled up to {date} into {store_url}: {} objects uploaded", report.uploaded());
    Ok(if leftovers.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn cmd_prune(args: &[String]) -> Result<ExitCode, Failure> {
    let a =
        Args::parse(args, &["--store", "--days", "--log-days", "--min-days", "--max-days", "--today"], &["--dry-run"])?;
    let store_url = a.get("--store").ok_or_else(|| Failure::Usage("prune needs --store URL".into()))?;
    let opts = PruneOptions {
        today: a.date("--today")?.unwrap_or_else(Date::today_utc),
        trail_days: a.days("--days")?,
        trail_allowed: a.days("--min-days")?..=a.days("--max-days")?,
        log_days: a.days("--log-days")?,
        dry_run: a.has("--dry-run"),
        retry: upload::UploadOptions::default(),
    };
    obspec_roll::prune::check_trail_days(opts.trail_days, &opts.trail_allowed)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let store = open_store(store_url).map_err(|e| Failure::Run(e.to_string()))?;
    let report =
        runtime()?.block_on(obspec_roll::prune(store.as_ref(), &opts)).map_err(|e| Failure::Run(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    let verb = if opts.dry_run { "would prune" } else { "pruned" };
    for d in &report.trail_days {
        let _ = writeln!(out, "{verb} audit/{}", d.path());
    }
    for d in &report.log_days {
        let _ = writeln!(out, "{verb} logs/{}", d.path());
    }
    for k in &report.kept {
        let _ = writeln!(out, "kept {}: {}", k.day, k.reason);
    }
    let _ = writeln!(
        out,
        "{verb} {} audit days and {} log days ({} objects); {} days past retention kept",
        report.trail_days.len(),
        report.log_days.len(),
        report.deleted,
        report.kept.len()
    );
    // A day past retention that cannot be pruned (unsealed, tampered) needs a look.
    Ok(if report.kept.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
