//! Configuration by flags or environment (`policy-proxy --help` lists both).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

/// Everything the proxy reads at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (port 0: any free port; printed on stdout line 1).
    pub listen: SocketAddr,
    /// The upstream (Core) of the current stage ("blue").
    pub upstream: http::Uri,
    /// The upstream of the next stage ("green"), served after `/_reload?stage=next`.
    pub upstream_next: http::Uri,
    /// Root of the daily log files; stdout when unset.
    pub log_dir: Option<PathBuf>,
    /// Root of the audit trails.
    pub trail_dir: PathBuf,
    /// Ops token protecting `/_trace` and `/_reload`.
    pub ops_token: Option<String>,
    /// Tenant whose trail stream records ops events.
    pub ops_tenant: String,
    /// Flag file re-read by `/_reload`.
    pub flags_file: Option<PathBuf>,
    /// Tokens per second of each tenant's bucket.
    pub tenant_rate: u32,
    /// Burst of each tenant's bucket.
    pub tenant_burst: u32,
    /// Requests in flight before `BACKPRESSURE`.
    pub max_concurrency: usize,
    /// `retry_after_ms` of a `BACKPRESSURE` answer.
    pub backpressure_retry: Duration,
    /// Longest wait for the upstream.
    pub upstream_timeout: Duration,
    /// Longest drain on SIGTERM.
    pub drain_timeout: Duration,
}

fn command() -> Command {
    let arg = |name: &'static str, env: &'static str, help: &'static str| {
        Arg::new(name).long(name).env(env).help(help).action(ArgAction::Set)
    };
    Command::new("policy-proxy")
        .about("Policy-Proxy: ABAC policy and rate buckets in front of Core, blue/green, observed with obspec")
        .arg(
            arg("listen", "POLICY_PROXY_LISTEN", "Address to bind; port 0 picks one (printed on stdout line 1)")
                .default_value("127.0.0.1:8081")
                .value_parser(value_parser!(SocketAddr)),
        )
        .arg(
            arg("upstream", "POLICY_PROXY_UPSTREAM", "Core of the current stage")
                .default_value("http://127.0.0.1:8080")
                .value_parser(value_parser!(http::Uri)),
        )
        .arg(
            arg("upstream-next", "POLICY_PROXY_UPSTREAM_NEXT", "Core of the next stage (default: --upstream)")
                .value_parser(value_parser!(http::Uri)),
        )
        .arg(
            arg("log-dir", "POLICY_PROXY_LOG_DIR", "Root of the daily log files (default: stdout)")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            arg("trail-dir", "POLICY_PROXY_TRAIL_DIR", "Root of the audit trails")
                .default_value("trails")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(arg("ops-token", "POLICY_PROXY_OPS_TOKEN", "Ops token for /_trace and /_reload (unset: both denied)"))
        .arg(arg("ops-tenant", "POLICY_PROXY_OPS_TENANT", "Trail stream of ops events").default_value("ops"))
        .arg(
            arg("flags-file", "POLICY_PROXY_FLAGS_FILE", "Flag file re-read by /_reload")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            arg("tenant-rate", "POLICY_PROXY_TENANT_RATE", "Requests per second per tenant")
                .default_value("50")
                .value_parser(value_parser!(u32)),
        )
        .arg(
            arg("tenant-burst", "POLICY_PROXY_TENANT_BURST", "Burst per tenant")
                .default_value("100")
                .value_parser(value_parser!(u32)),
        )
        .arg(
            arg("max-concurrency", "POLICY_PROXY_MAX_CONCURRENCY", "Requests in flight before BACKPRESSURE")
                .default_value("256")
                .value_parser(value_parser!(usize)),
        )
        .arg(
            arg("backpressure-retry-ms", "POLICY_PROXY_BACKPRESSURE_RETRY_MS", "retry_after_ms of BACKPRESSURE")
                .default_value("250")
                .value_parser(value_parser!(u64)),
        )
        .arg(
            arg("upstream-timeout-ms", "POLICY_PROXY_UPSTREAM_TIMEOUT_MS", "Longest wait for the upstream")
                .default_value("10000")
                .value_parser(value_parser!(u64)),
        )
        .arg(
            arg("drain-timeout-ms", "POLICY_PROXY_DRAIN_TIMEOUT_MS", "Longest drain on SIGTERM")
                .default_value("10000")
                .value_parser(value_parser!(u64)),
        )
}

impl Config {
    /// Parses the process arguments and environment (exits on `--help` or an error).
    pub fn from_args() -> Self {
        Self::from_matches(&command().get_matches())
    }

    fn from_matches(m: &ArgMatches) -> Self {
        let s = |n: &str| m.get_one::<String>(n).cloned();
        let p = |n: &str| m.get_one::<PathBuf>(n).cloned();
        let ms = |n: &str| Duration::from_millis(m.get_one::<u64>(n).copied().unwrap_or(0));
        let upstream = m.get_one::<http::Uri>("upstream").cloned().unwrap_or_default();
        Self {
            listen: m.get_one::<SocketAddr>("listen").copied().unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            upstream_next: m.get_one::<http::Uri>("upstream-next").cloned().unwrap_or_else(|| upstream.clone()),
            upstream,
            log_dir: p("log-dir"),
            trail_dir: p("trail-dir").unwrap_or_default(),
            ops_token: s("ops-token").filter(|t| !t.is_empty()),
            ops_tenant: s("ops-tenant").unwrap_or_default(),
            flags_file: p("flags-file"),
            tenant_rate: m.get_one::<u32>("tenant-rate").copied().unwrap_or(1),
            tenant_burst: m.get_one::<u32>("tenant-burst").copied().unwrap_or(1),
            max_concurrency: m.get_one::<usize>("max-concurrency").copied().unwrap_or(1).max(1),
            backpressure_retry: ms("backpressure-retry-ms"),
            upstream_timeout: ms("upstream-timeout-ms"),
            drain_timeout: ms("drain-timeout-ms"),
        }
    }
}
