//! Configuration by flags or environment (`office --help` lists both).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

/// Everything the Office service reads at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (port 0: any free port; printed on stdout line 1).
    pub listen: SocketAddr,
    /// SQLite file holding the last events of every room (fsynced on each event).
    pub db: PathBuf,
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
    /// Events kept (and replayed) per room.
    pub history: usize,
    /// MCP tool calls running at once per room before `BACKPRESSURE`.
    pub room_concurrency: usize,
    /// Requests in flight (service-wide) before `BACKPRESSURE`.
    pub max_concurrency: usize,
    /// Longest `wait` tool call.
    pub max_wait: Duration,
    /// Largest WebSocket message accepted (bytes).
    pub max_message_bytes: usize,
    /// Longest drain on SIGTERM.
    pub drain_timeout: Duration,
}

fn command() -> Command {
    let arg = |name: &'static str, env: &'static str, help: &'static str| {
        Arg::new(name).long(name).env(env).help(help).action(ArgAction::Set)
    };
    Command::new("office")
        .about("Office room service: WebSocket rooms with replay and an MCP endpoint, observed with obspec")
        .arg(
            arg("listen", "OFFICE_LISTEN", "Address to bind; port 0 picks one (printed on stdout line 1)")
                .default_value("127.0.0.1:8082")
                .value_parser(value_parser!(SocketAddr)),
        )
        .arg(
            arg("db", "OFFICE_DB", "SQLite file of the rooms' last events")
                .default_value("office.db")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            arg("log-dir", "OFFICE_LOG_DIR", "Root of the daily log files (default: stdout)")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            arg("trail-dir", "OFFICE_TRAIL_DIR", "Root of the audit trails")
                .default_value("trails")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(arg("ops-token", "OFFICE_OPS_TOKEN", "Ops token for /_trace and /_reload (unset: both denied)"))
        .arg(arg("ops-tenant", "OFFICE_OPS_TENANT", "Trail stream of ops events").default_value("ops"))
        .arg(
            arg("flags-file", "OFFICE_FLAGS_FILE", "Flag file re-read by /_reload")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            arg("history", "OFFICE_HISTORY", "Events kept and replayed per room")
                .default_value("100")
                .value_parser(value_parser!(usize)),
        )
        .arg(
            arg("room-concurrency", "OFFICE_ROOM_CONCURRENCY", "Tool calls at once per room before BACKPRESSURE")
                .default_value("4")
                .value_parser(value_parser!(usize)),
        )
        .arg(
            arg("max-concurrency", "OFFICE_MAX_CONCURRENCY", "Requests in flight before BACKPRESSURE")
                .default_value("1024")
                .value_parser(value_parser!(usize)),
        )
        .arg(
            arg("max-wait-ms", "OFFICE_MAX_WAIT_MS", "Longest `wait` tool call")
                .default_value("5000")
                .value_parser(value_parser!(u64)),
        )
        .arg(
            arg("max-message-bytes", "OFFICE_MAX_MESSAGE_BYTES", "Largest WebSocket message")
                .default_value("65536")
                .value_parser(value_parser!(usize)),
        )
        .arg(
            arg("drain-timeout-ms", "OFFICE_DRAIN_TIMEOUT_MS", "Longest drain on SIGTERM")
                .default_value("10000")
                .value_parser(value_parser!(u64)),
        )
}

impl Config {
    /// Parses the process arguments and environment (exits on `--help` or an error).
    pub fn from_args() -> Self {
        let m = command().get_matches();
        Self::from_matches(&m)
    }

    fn from_matches(m: &ArgMatches) -> Self {
        let s = |n: &str| m.get_one::<String>(n).cloned();
        let p = |n: &str| m.get_one::<PathBuf>(n).cloned();
        let u = |n: &str| m.get_one::<usize>(n).copied().unwrap_or(1);
        let ms = |n: &str| Duration::from_millis(m.get_one::<u64>(n).copied().unwrap_or(0));
        Self {
            listen: m.get_one::<SocketAddr>("listen").copied().unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            db: p("db").unwrap_or_default(),
            log_dir: p("log-dir"),
            trail_dir: p("trail-dir").unwrap_or_default(),
            ops_token: s("ops-token").filter(|t| !t.is_empty()),
            ops_tenant: s("ops-tenant").unwrap_or_default(),
            flags_file: p("flags-file"),
            history: u("history").max(1),
            room_concurrency: u("room-concurrency").max(1),
            max_concurrency: u("max-concurrency").max(1),
            max_wait: ms("max-wait-ms"),
            max_message_bytes: u("max-message-bytes"),
            drain_timeout: ms("drain-timeout-ms"),
        }
    }
}
