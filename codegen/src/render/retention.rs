//! The retention figures of the daily roll, as a shell environment file
//! (`infra/observability/retention.env`) that `jobs/rollup_trails_to_r2.sh`
//! sources and passes to `obspec-roll prune` (`--days`, `--log-days`,
//! `--min-days`, `--max-days`), so the roll keeps what the spec says and
//! carries no figure of its own.

use super::header;
use crate::model::Spec;
use crate::output::GeneratedFile;

/// Where the file is written.
pub const PATH: &str = "infra/observability/retention.env";

/// Renders `retention.env`: `TRAIL_MIN_DAYS`, `TRAIL_MAX_DAYS`, `TRAIL_DAYS`
/// (`trails.retention`, when the spec sets it) and `LOG_DAYS` (`logs.retention_days`).
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    let mut s = header::hash_comment(sources);
    s.push_str("# Retention of the daily roll, in days; sourced by jobs/rollup_trails_to_r2.sh.\n");
    if let Some(r) = &spec.trails.retention {
        s.push_str("# Audit trails: the range a tenant policy may choose (trails.retention), and the default.\n");
        s.push_str(&format!("TRAIL_MIN_DAYS={}\n", r.min_days));
        s.push_str(&format!("TRAIL_MAX_DAYS={}\n", r.max_days));
        s.push_str(&format!("TRAIL_DAYS={}\n", r.default_days));
    }
    s.push_str("# Logs (logs.retention_days).\n");
    s.push_str(&format!("LOG_DAYS={}\n", spec.logs.retention_days));
    vec![GeneratedFile { path: PATH.to_owned(), contents: s }]
}
