//! SQLite through rusqlite (bundled): migrations at start-up, every query run
//! on the blocking pool and timed into `core_db_query_seconds{op}` (`op` is the
//! query's ID, never its SQL).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use obspec_generated::metrics::Op;
use rusqlite::Connection;

use crate::obs::CoreError;

/// A database operation: the closed `op` label of `core_db_query_seconds`.
pub type DbOp = Op;

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
    // A room's event log (`GET /v1/rooms/{room_id}/events`): a per-room `seq`
    // from 1, written in the same transaction as the change it records, and
    // backfilled from the rooms and links that existed before it.
    "CREATE TABLE room_events (
        room_id TEXT NOT NULL REFERENCES rooms (id),
        seq INTEGER NOT NULL,
        tenant TEXT NOT NULL,
        type TEXT NOT NULL,
        link_id TEXT,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (room_id, seq)
    ) WITHOUT ROWID;
    INSERT INTO room_events (room_id, seq, tenant, type, link_id, created_ms)
        SELECT id, 1, tenant, 'room_created', NULL, created_ms FROM rooms;
    INSERT INTO room_events (room_id, seq, tenant, type, link_id, created_ms)
        SELECT room_id, 1 + ROW_NUMBER() OVER (PARTITION BY room_id ORDER BY created_ms, id), tenant,
               'link_appended', id, created_ms
        FROM links;",
    // Webhook deliveries become an outbox: written with the link, resumed at
    // start-up until delivered or out of attempts.
    "ALTER TABLE webhook_deliveries ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
    ALTER TABLE webhook_deliveries ADD COLUMN next_ms INTEGER NOT NULL DEFAULT 0;
    UPDATE webhook_deliveries SET tenant = coalesce((SELECT l.tenant FROM links l WHERE l.id = link_id), '');
    CREATE INDEX webhook_deliveries_open ON webhook_deliveries (state) WHERE state IN ('pending', 'retrying');",
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

    /// Runs `f` on the blocking pool, timing it as `op` (the spec's closed set).
    pub async fn run<T, F>(&self, op: Op, f: F) -> Result<T, CoreError>
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

    #[test]
    fn room_events_are_backfilled_from_older_databases() {
        let mut c = Connection::open_in_memory().expect("open");
        for sql in &MIGRATIONS[..2] {
            c.execute_batch(sql).expect("old schema");
        }
        c.pragma_update(None, "user_version", 2).expect("version");
        c.execute_batch(
            "INSERT INTO rooms VALUES ('r1', 't1', 'a', 10), ('r2', 't1', 'b', 20);
             INSERT INTO links VALUES ('l2', 't1', 'r1', 'x', 'media', 30), ('l1', 't1', 'r1', 'y', 'media', 30),
                                      ('l3', 't1', 'r1', 'z', 'media', 40);
             INSERT INTO webhook_deliveries (dest, link_id, state, attempts, updated_ms) VALUES ('d', 'l3', 'retrying', 1, 0);",
        )
        .expect("old rows");
        assert_eq!(migrate(&mut c).expect("migrate"), MIGRATIONS.len() - 2);
        let mut st = c.prepare("SELECT room_id, seq, type, link_id FROM room_events ORDER BY room_id, seq").expect("q");
        let rows: Vec<(String, i64, String, Option<String>)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("collect");
        let own = |r: &str, n: i64, t: &str, l: Option<&str>| (r.to_owned(), n, t.to_owned(), l.map(str::to_owned));
        assert_eq!(
            rows,
            [
                own("r1", 1, "room_created", None),
                own("r1", 2, "link_appended", Some("l1")),
                own("r1", 3, "link_appended", Some("l2")),
                own("r1", 4, "link_appended", Some("l3")),
                own("r2", 1, "room_created", None),
            ]
        );
        let tenant: String =
            c.query_row("SELECT tenant FROM webhook_deliveries", [], |r| r.get(0)).expect("tenant column");
        assert_eq!(tenant, "t1", "open deliveries get their link's tenant");
    }
}
