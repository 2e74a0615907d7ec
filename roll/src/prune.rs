//! Retention: deletes from the store the days older than the policy keeps, but only
//! days that were sealed and still verify.
//!
//! For the audit trails a day is pruned only when its manifest is in the store,
//! parses, is signed by the key it names (`keys/<kid>.pub` in the store, matching the
//! fingerprint the manifest lists) and every object under `audit/yyyy/mm/dd/` is listed
//! in it and reads back with the BLAKE3 it lists. An unsealed day, an unlisted object or
//! a mismatch keeps the whole day and is reported. Manifests and keys are kept: they
//! hold no record content and keep the chain of day manifests provable from its start.
//! Logs follow the same rule with their checksum sidecars.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use obspec_trail::Date;
use obspec_trail::manifest::{self, Manifest};
use obspec_trail::sign;

use crate::error::{Error, Result, store_err};
use crate::logs::{self, LogDay};
use crate::roll::object_path;
use crate::upload::{self, UploadOptions, with_retry};

/// What to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Today (UTC); days before `today - days` are pruned.
    pub today: Date,
    /// Days of audit trails kept; must lie in `trail_allowed`.
    pub trail_days: u32,
    /// The audit retention the policy allows (the spec's `trails.retention`
    /// `min_days..=max_days`, from `infra/observability/retention.env`).
    pub trail_allowed: RangeInclusive<u32>,
    /// Days of logs kept.
    pub log_days: u32,
    /// Report what would be deleted without deleting.
    pub dry_run: bool,
    /// Retries of store reads and deletes.
    pub retry: UploadOptions,
}

/// A day kept although it is past retention, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The prefix of the day (`audit/yyyy/mm/dd` or `logs/yyyy/mm/dd`).
    pub day: String,
    /// Why it was kept.
    pub reason: String,
}

/// What a prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Audit days deleted (or that would be, in a dry run).
    pub trail_days: Vec<Date>,
    /// Log days deleted (or that would be, in a dry run).
    pub log_days: Vec<Date>,
    /// Objects deleted.
    pub deleted: usize,
    /// Days past retention that were kept.
    pub kept: Vec<Kept>,
}

/// Checks a retention setting for audit trails against the range the policy allows.
pub fn check_trail_days(days: u32, allowed: &RangeInclusive<u32>) -> Result<()> {
    if allowed.is_empty() {
        return Err(Error::Config(format!(
            "the allowed audit retention {}–{} days is empty",
            allowed.start(),
            allowed.end()
        )));
    }
    if allowed.contains(&days) {
        Ok(())
    } else {
        Err(Error::Config(format!("audit retention must be {}–{} days, not {days}", allowed.start(), allowed.end())))
    }
}

/// The first day kept when keeping `days` days before `today`.
pub fn cutoff(today: Date, days: u32) -> Date {
    (0..days).fold(today, |d, _| d.pred())
}

/// Prunes the store: see the module documentation.
pub async fn prune(store: &dyn ObjectStore, opts: &PruneOptions) -> Result<PruneReport> {
    check_trail_days(opts.trail_days, &opts.trail_allowed)?;
    if opts.log_days == 0 {
        return Err(Error::Config("log retention must be at least 1 day".into()));
    }
    let mut report = PruneReport::default();
    let trail_cut = cutoff(opts.today, opts.trail_days);
    for (d, objects) in day_objects(store, "audit").await?.range(..trail_cut) {
        let prefix = format!("audit/{}", d.path());
        match check_trail_day(store, *d, objects, opts).await? {
            Ok(()) => {
                report.deleted += delete_all(store, objects, opts).await?;
                report.trail_days.push(*d);
            }
            Err(reason) => report.kept.push(Kept { day: prefix, reason }),
        }
    }
    let log_cut = cutoff(opts.today, opts.log_days);
    for (d, objects) in day_objects(store, "logs").await?.range(..log_cut) {
        let prefix = format!("logs/{}", d.path());
        match check_log_day(store, *d, objects, opts).await? {
            Ok(()) => {
                report.deleted += delete_all(store, objects, opts).await?;
                report.log_days.push(*d);
            }
            Err(reason) => report.kept.push(Kept { day: prefix, reason }),
        }
    }
    Ok(report)
}

/// Objects under `<plane>/yyyy/mm/dd/` by day.
async fn day_objects(store: &dyn ObjectStore, plane: &str) -> Result<BTreeMap<Date, Vec<Path>>> {
    let p = object_path(plane)?;
    let metas: Vec<_> = store.list(Some(&p)).try_collect().await.map_err(store_err(&p))?;
    let mut out: BTreeMap<Date, Vec<Path>> = BTreeMap::new();
    for meta in metas {
        let parts: Vec<_> = meta.location.parts().map(|p| p.as_ref().to_owned()).collect();
        if let [_, y, m, d, _] = parts.as_slice()
            && let Some(date) = Date::parse(&format!("{y}-{m}-{d}"))
        {
            out.entry(date).or_default().push(meta.location);
        }
    }
    Ok(out)
}

/// `Ok(Ok(()))` when the day may go, `Ok(Err(reason))` when it must stay.
async fn check_trail_day(
    store: &dyn ObjectStore,
    d: Date,
    objects: &[Path],
    opts: &PruneOptions,
) -> Result<std::result::Result<(), String>> {
    let mp = object_path(&manifest::manifest_rel_path(d))?;
    let Some(bytes) = with_retry(&opts.retry, || upload::get_bytes(store, &mp)).await?.0 else {
        return Ok(Err("not sealed: no manifest in the store".into()));
    };
    let m = match Manifest::parse(&bytes) {
        Ok(m) if m.date == d => m,
        Ok(m) => return Ok(Err(format!("{mp} holds the manifest of {}", m.date))),
        Err(e) => return Ok(Err(format!("{mp}: {e}"))),
    };
    let kp = object_path(&format!("keys/{}.pub", m.kid))?;
    let key =
        with_retry(&opts.retry, || upload::get_bytes(store, &kp)).await?.0.and_then(|b| sign::decode_public_key(&b));
    let Some(key) = key else { return Ok(Err(format!("{kp}: missing or invalid"))) };
    if m.keys.get(&m.kid) != Some(&sign::fingerprint(&key)) || !m.verify_signature(&key)? {
        return Ok(Err(format!("{mp}: signature does not verify with {kp}")));
    }
    let listed: BTreeMap<String, [u8; 32]> = m
        .files
        .iter()
        .map(|f| (f.path.clone(), f.blake3))
        .chain(m.quarantine.iter().map(|q| (q.path.clone(), q.blake3)))
        .collect();
    check_objects(store, objects, &listed, opts).await
}

async fn check_log_day(
    store: &dyn ObjectStore,
    d: Date,
    objects: &[Path],
    opts: &PruneOptions,
) -> Result<std::result::Result<(), String>> {
    let sp = object_path(&logs::sidecar_path(d))?;
    let Some(bytes) = with_retry(&opts.retry, || upload::get_bytes(store, &sp)).await?.0 else {
        return Ok(Err("no checksum sidecar in the store".into()));
    };
    let day = match LogDay::parse(&bytes) {
        Ok(day) if day.date == d => day,
        Ok(_) => return Ok(Err(format!("{sp} is for another day"))),
        Err(e) => return Ok(Err(format!("{sp}: {e}"))),
    };
    let listed = day.files.into_iter().map(|(p, f)| (p, f.blake3)).collect();
    check_objects(store, objects, &listed, opts).await
}

/// Every object is listed and reads back with the listed BLAKE3. Listed files already
/// absent (a prune interrupted midway) are fine.
async fn check_objects(
    store: &dyn ObjectStore,
    objects: &[Path],
    listed: &BTreeMap<String, [u8; 32]>,
    opts: &PruneOptions,
) -> Result<std::result::Result<(), String>> {
    for o in objects {
        let rel = o.to_string();
        let Some(expected) = listed.get(&rel) else {
            return Ok(Err(format!("{rel} is not listed in the day's manifest")));
        };
        match with_retry(&opts.retry, || upload::object_blake3(store, o)).await?.0 {
            Some(h) if h == *expected => {}
            Some(h) => {
                return Ok(Err(format!(
                    "{rel}: BLAKE3 {} differs from the manifest's {}",
                    upload::hex(&h),
                    upload::hex(expected)
                )));
            }
            None => {}
        }
    }
    Ok(Ok(()))
}

async fn delete_all(store: &dyn ObjectStore, objects: &[Path], opts: &PruneOptions) -> Result<usize> {
    if opts.dry_run {
        return Ok(objects.len());
    }
    for o in objects {
        with_retry(&opts.retry, || async {
            match store.delete(o).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(store_err(o)(e)),
            }
        })
        .await?;
    }
    Ok(objects.len())
}
