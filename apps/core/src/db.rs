//! SQLite through rusqlite (bundled): migrations at start-up, every query run
//! on the blocking pool and timed into `core_db_query_seconds{op}` (`op` is the
//! query's ID, never its SQL).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use rusqlite::Connection;

use crate::obs::CoreError;

/// Schema migrations, applied in order; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        title TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX rooms_by_tenant ON rooms (tenant, created_ms);
    CREATE TABLE links (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        room_id TEXT NOT NULL REFERENCES rooms (id),
        target_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX links_by_room ON links (room_id, created_ms);",
    "CREATE TABLE sessions (
        token TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dest TEXT NOT NULL,
        link_id TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );",
];

/// The database: one connection, used from the blocking pool.
#[derive(Debug, Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

/// Applies the migrations `conn` has not seen yet; returns how many ran.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<usize> {
    let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(0);
    let mut ran = 0;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(i64::MAX))?;
        tx.commit()?;
        ran += 1;
    }
    Ok(ran)
}

impl Db {
    /// Opens (creating) the database at `path` and migrates it.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` on the blocking pool, timing it as `op`.
    pub async fn run<T, F>(&self, op: &'static str, f: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let c = conn.lock().unwrap_or_else(PoisonError::into_inner);
            let start = Instant::now();
            let r = f(&c);
            obspec_generated::metrics::core_db_query_seconds(op).record(start.elapsed().as_secs_f64());
            r
        })
        .await
        .map_err(|_| CoreError::Internal)?
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                CoreError::Conflict
            }
            _ => CoreError::Internal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once() {
        let mut c = Connection::open_in_memory().expect("open");
        assert_eq!(migrate(&mut c).expect("first"), MIGRATIONS.len());
        assert_eq!(migrate(&mut c).expect("second"), 0);
        let n: i64 = c.query_row("SELECT count(*) FROM rooms", [], |r| r.get(0)).expect("rooms table");
        assert_eq!(n, 0);
    }
}
