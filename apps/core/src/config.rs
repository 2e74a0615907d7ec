//! Configuration by flags or environment (`core --help` lists both).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

/// Everything the Core API reads at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (port 0: any free port; the bound address is printed on stdout line 1).
    pub listen: SocketAddr,
    /// SQLite database file (created and migrated at start-up).
    pub db: PathBuf,
    /// Root of the daily log files (`logs/yyyy/mm/dd/core.ndjson`); stdout when unset.
    pub log_dir: Option<PathBuf>,
    /// Root of the audit trails (`audit/yyyy/mm/dd/<tenant>.ndjson`).
    pub trail_dir: PathBuf,
    /// Ops token protecting `/_trace` and `/_reload`.
    pub ops_token: Option<String>,
    /// Tenant whose trail stream records ops events (`ops.reload`).
    pub ops_tenant: String,
    /// `key = value` flag file re-read by `/_reload`.
    pub flags_file: Option<PathBuf>,
    /// Tokens per second of each tenant's bucket.
    pub tenant_rate: u32,
    /// Burst of each tenant's bucket.
    pub tenant_burst: u32,
    /// Requests in flight before `BACKPRESSURE`.
    pub max_concurrency: usize,
    /// `retry_after_ms` of a `BACKPRESSURE` answer.
    pub backpressure_retry: Duration,
    /// Webhook destinations, `id=url`.
    pub webhooks: Vec<(String, String)>,
    /// Delivery attempts per webhook event.
    pub webhook_attempts: u32,
    /// First retry delay (doubles each attempt).
    pub webhook_backoff: Duration,
    /// Timeout of one delivery attempt.
    pub webhook_timeout: Duration,
    /// API keys accepted by `/v1/auth/login`, `tenant=key`.
    pub api_keys: Vec<(String, String)>,
    /// S3 bucket media URLs are signed for.
    pub s3_bucket: String,
    /// S3 region.
    pub s3_region: String,
    /// S3 endpoint (MinIO, R2, moto); AWS when unset.
    pub s3_endpoint: Option<String>,
    /// S3 access key ID; presign answers `UNAVAILABLE` without credentials.
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key.
    pub s3_secret_access_key: Option<String>,
    /// Lifetime of a presigned URL.
    pub presign_ttl: Duration,
    /// Longest drain of in-flight requests on SIGTERM.
    pub drain_timeout: Duration,
}

fn command() -> Command {
    let arg = |name: &'static str, env: &'static str, help: &'static str| {
        Arg::new(name).long(name).env(env).help(help).action(ArgAction::Set)
    };
    let list = |name: &'static str, env: &'static str, help: &'static str| {
        Arg::new(name).long(name).env(env).help(help).action(ArgAction::Append).value_delimiter(',')
    };
    Command::new("core")
        .about("Core API: rooms, links, login, media presign and webhooks, observed with obspec")
        .arg(
            arg("listen", "CORE_LISTEN", "Address to bind; port 0 picks one (printed on stdout line 1)")
                .default_value("127.0.0.1:8080")
                .value_parser(value_parser!(SocketAddr)),
        )
        .arg(arg("db", "CORE_DB", "SQLite database file").default_value("core.db").value_parser(value_parser!(PathBuf)))
        .arg(
            arg("log-dir", "CORE_LOG_DIR", "Root of the daily log files (default: stdout)")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            arg("trail-dir", "CORE_TRAIL_DIR", "Root of the audit trails")
                .default_value("trails")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(arg("ops-token", "CORE_OPS_TOKEN", "Ops token for /_trace and /_reload (unset: both denied)"))
        .arg(arg("ops-tenant", "CORE_OPS_TENANT", "Trail stream of ops events").default_value("ops"))
        .arg(arg("flags-file", "CORE_FLAGS_FILE", "Flag file re-read by /_reload").value_parser(value_parser!(PathBuf)))
        .arg(
            arg("tenant-rate", "CORE_TENANT_RATE", "Requests per second per tenant")
                .default_value("50")
                .value_parser(value_parser!(u32)),
        )
        .arg(
            arg("tenant-burst", "CORE_TENANT_BURST", "Burst per tenant")
                .default_value("100")
                .value_parser(value_parser!(u32)),
        )
        .arg(
            arg("max-concurrency", "CORE_MAX_CONCURRENCY", "Requests in flight before BACKPRESSURE")
                .default_value("256")
                .value_parser(value_parser!(usize)),
        )
        .arg(
            arg("backpressure-retry-ms", "CORE_BACKPRESSURE_RETRY_MS", "retry_after_ms of BACKPRESSURE")
                .default_value("250")
                .value_parser(value_parser!(u64)),
        )
        .arg(list("webhook", "CORE_WEBHOOKS", "Webhook destination id=url (repeat or comma-separate)"))
        .arg(
            arg("webhook-attempts", "CORE_WEBHOOK_ATTEMPTS", "Attempts per delivery")
                .default_value("3")
                .value_parser(value_parser!(u32)),
        )
        .arg(
            arg("webhook-backoff-ms", "CORE_WEBHOOK_BACKOFF_MS", "First retry delay, doubling")
                .default_value("100")
                .value_parser(value_parser!(u64)),
        )
        .arg(
            arg("webhook-timeout-ms", "CORE_WEBHOOK_TIMEOUT_MS", "Timeout of one attempt")
                .default_value("2000")
                .value_parser(value_parser!(u64)),
        )
        .arg(list("api-key", "CORE_API_KEYS", "Login API key tenant=key (repeat or comma-separate)"))
        .arg(arg("s3-bucket", "CORE_S3_BUCKET", "Bucket media URLs are signed for").default_value("media"))
        .arg(arg("s3-region", "AWS_REGION", "S3 region").default_value("us-east-1"))
        .arg(arg("s3-endpoint", "AWS_ENDPOINT_URL", "S3 endpoint (MinIO, R2, moto)"))
        .arg(arg("s3-access-key-id", "AWS_ACCESS_KEY_ID", "S3 access key ID"))
        .arg(arg("s3-secret-access-key", "AWS_SECRET_ACCESS_KEY", "S3 secret access key").hide_env_values(true))
        .arg(
            arg("presign-ttl-s", "CORE_PRESIGN_TTL_S", "Lifetime of a presigned URL")
                .default_value("300")
                .value_parser(value_parser!(u64)),
        )
        .arg(
            arg("drain-timeout-ms", "CORE_DRAIN_TIMEOUT_MS", "Longest drain on SIGTERM")
                .default_value("10000")
                .value_parser(value_parser!(u64)),
        )
}

fn pairs(m: &ArgMatches, name: &str) -> Result<Vec<(String, String)>, String> {
    m.get_many::<String>(name)
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("--{name}: expected id=value")),
        })
        .collect()
}

impl Config {
    /// Parses the process arguments and environment (exits on `--help` or an error).
    pub fn from_args() -> Self {
        let m = command().get_matches();
        match Self::from_matches(&m) {
            Ok(c) => c,
            Err(e) => command().error(clap::error::ErrorKind::ValueValidation, e).exit(),
        }
    }

    /// Parses `args` (the first is the program name).
    pub fn try_from_iter<I: IntoIterator<Item = String>>(args: I) -> Result<Self, String> {
        let m = command().try_get_matches_from(args).map_err(|e| e.to_string())?;
        Self::from_matches(&m)
    }

    fn from_matches(m: &ArgMatches) -> Result<Self, String> {
        let s = |n: &str| m.get_one::<String>(n).cloned();
        let p = |n: &str| m.get_one::<PathBuf>(n).cloned();
        let ms = |n: &str| Duration::from_millis(m.get_one::<u64>(n).copied().unwrap_or(0));
        Ok(Self {
            listen: m.get_one::<SocketAddr>("listen").copied().ok_or("--listen is required")?,
            db: p("db").ok_or("--db is required")?,
            log_dir: p("log-dir"),
            trail_dir: p("trail-dir").ok_or("--trail-dir is required")?,
            ops_token: s("ops-token").filter(|t| !t.is_empty()),
            ops_tenant: s("ops-tenant").unwrap_or_default(),
            flags_file: p("flags-file"),
            tenant_rate: m.get_one::<u32>("tenant-rate").copied().unwrap_or(1),
            tenant_burst: m.get_one::<u32>("tenant-burst").copied().unwrap_or(1),
            max_concurrency: m.get_one::<usize>("max-concurrency").copied().unwrap_or(1),
            backpressure_retry: ms("backpressure-retry-ms"),
            webhooks: pairs(m, "webhook")?,
            webhook_attempts: m.get_one::<u32>("webhook-attempts").copied().unwrap_or(1).max(1),
            webhook_backoff: ms("webhook-backoff-ms"),
            webhook_timeout: ms("webhook-timeout-ms"),
            api_keys: pairs(m, "api-key")?,
            s3_bucket: s("s3-bucket").unwrap_or_default(),
            s3_region: s("s3-region").unwrap_or_default(),
            s3_endpoint: s("s3-endpoint").filter(|e| !e.is_empty()),
            s3_access_key_id: s("s3-access-key-id").filter(|e| !e.is_empty()),
            s3_secret_access_key: s("s3-secret-access-key").filter(|e| !e.is_empty()),
            presign_ttl: Duration::from_secs(m.get_one::<u64>("presign-ttl-s").copied().unwrap_or(300)),
            drain_timeout: ms("drain-timeout-ms"),
        })
    }
}
