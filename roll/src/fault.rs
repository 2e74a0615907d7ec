//! A fault hook for crash tests: with `OBSPEC_ROLL_FAULT_AT=N` set, the roll
//! names every crash-relevant step on stderr (`obspec-roll: fault point K NAME`)
//! and stops for good at the N-th, so the test can SIGKILL it exactly there
//! (after a seal, between uploads, inside a multipart upload, between the
//! uploads and the spool deletion, ...). Without the variable it does nothing.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms the hook.
pub const FAULT_ENV: &str = "OBSPEC_ROLL_FAULT_AT";

static AT: OnceLock<Option<u64>> = OnceLock::new();
static COUNT: AtomicU64 = AtomicU64::new(0);

/// A crash point named `name`: see the module documentation.
pub fn point(name: &str) {
    let Some(at) = *AT.get_or_init(|| std::env::var(FAULT_ENV).ok().and_then(|v| v.parse().ok())) else {
        return;
    };
    let k = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "obspec-roll: fault point {k} {name}");
    let _ = err.flush();
    if k == at {
        drop(err);
        // Wait here to be killed.
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
