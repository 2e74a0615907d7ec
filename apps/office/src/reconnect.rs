//! What `office_ws_reconnect_duration_seconds` measures, within a process and
//! across a restart.
//!
//! **Reconnect time** is the time from the moment the server sees a session's
//! socket end to the moment a new socket of the same `session_id` in the same
//! room, carrying `last_seq` (a resume, not a fresh join), is upgraded and its
//! replay starts. A socket "ends" however it ends: the client closes it, it
//! errors or reaches EOF, or the server closes it (lagging reader, shutdown).
//!
//! Across a restart the drop has to outlive the process, so every session is
//! recorded in the store (`ws_sessions`, the same SQLite file as the events,
//! fsynced):
//!
//! - **open** (`dropped_ms` NULL) when its socket is upgraded: the crash-safe
//!   point, written before the session is served;
//! - **dropped** (`dropped_ms` = wall-clock time) when the server sees the
//!   socket end, including the close every session gets at a graceful
//!   shutdown (SIGTERM: the sessions close, record their drop, then the
//!   process exits). A reconnect after a graceful restart is therefore timed
//!   from the shutdown's close to the resume on the new process: the
//!   downtime the client lived through is in it.
//! - After a **crash** (`kill -9`, OOM, power loss) the rows of the sessions
//!   that were open still say "open": no process saw those sockets end, and
//!   the moment of the crash is recorded nowhere (the last write before it
//!   may be arbitrarily old). The new process takes its own start as their
//!   drop time: for them the metric is the time from the server's start to
//!   the resume, a lower bound of what the client waited (the downtime before
//!   the start is not in it).
//!
//! Wall-clock times are read back once at start-up and turned into
//! [`Instant`]s, so every duration after that is monotonic. Drops older than
//! [`MAX_AGE`] or beyond the newest [`MAX_DROPPED`] are forgotten (memory and
//! store stay bounded); a session that never comes back is never counted.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::obs::OfficeError;
use crate::rooms::Rooms;

/// Most sessions remembered as dropped (the oldest are forgotten first).
pub const MAX_DROPPED: usize = 10_000;

/// Longest a drop is remembered across a restart.
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

type Key = (String, String);

/// Sessions dropped and not yet resumed: (room, session) → when the drop was seen.
#[derive(Debug)]
pub struct Drops {
    mem: Mutex<HashMap<Key, Instant>>,
    rooms: Rooms,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Drops {
    /// Loads the drops an earlier process left in the store of `rooms`; the
    /// sessions it left open (it crashed) are taken as dropped now, at this
    /// server's start.
    pub async fn load(rooms: &Rooms) -> Result<Self, OfficeError> {
        let (start_ms, start) = (now_ms(), Instant::now());
        let keep = i64::try_from(MAX_DROPPED).unwrap_or(i64::MAX);
        let rows = rooms
            .db(move |c| {
                c.execute_batch(
                    "CREATE TABLE IF NOT EXISTS ws_sessions (
                        room_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        dropped_ms INTEGER,
                        PRIMARY KEY (room_id, session_id)
                    ) WITHOUT ROWID;",
                )?;
                let tx = c.unchecked_transaction()?;
                tx.execute("UPDATE ws_sessions SET dropped_ms = ?1 WHERE dropped_ms IS NULL", [start_ms])?;
                tx.execute("DELETE FROM ws_sessions WHERE dropped_ms < ?1", [start_ms - ms(MAX_AGE)])?;
                tx.execute(
                    "DELETE FROM ws_sessions WHERE (room_id, session_id) NOT IN
                     (SELECT room_id, session_id FROM ws_sessions ORDER BY dropped_ms DESC LIMIT ?1)",
                    [keep],
                )?;
                let rows = {
                    let mut st = tx.prepare("SELECT room_id, session_id, dropped_ms FROM ws_sessions")?;
                    let rows = st.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get::<_, i64>(2)?)))?;
                    rows.collect::<rusqlite::Result<Vec<(Key, i64)>>>()?
                };
                tx.commit()?;
                Ok(rows)
            })
            .await?;
        let mem = rows
            .into_iter()
            .map(|(k, dropped_ms)| {
                let ago = Duration::from_millis(u64::try_from(start_ms.saturating_sub(dropped_ms)).unwrap_or(0));
                (k, start.checked_sub(ago).unwrap_or(start))
            })
            .collect();
        Ok(Self { mem: Mutex::new(mem), rooms: rooms.clone() })
    }

    /// Drops remembered now.
    pub fn len(&self) -> usize {
        self.mem.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no drop is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A socket of `session` in `room` was upgraded: records it open (durably,
    /// before it is served) and, when it resumes (`resuming`: it carries
    /// `last_seq`) a remembered drop, returns the reconnect time.
    pub async fn opened(&self, room: &str, session: &str, resuming: bool) -> Option<Duration> {
        let key: Key = (room.to_owned(), session.to_owned());
        let dropped = {
            let mut m = self.mem.lock().unwrap_or_else(PoisonError::into_inner);
            if resuming { m.remove(&key) } else { None }
        };
        let elapsed = dropped.map(|t| t.elapsed());
        // A failed write only loses the crash case of this session.
        let _ = self
            .rooms
            .db(move |c| {
                c.execute(
                    "INSERT INTO ws_sessions (room_id, session_id, dropped_ms) VALUES (?1, ?2, NULL)
                     ON CONFLICT (room_id, session_id) DO UPDATE SET dropped_ms = NULL",
                    rusqlite::params![key.0, key.1],
                )
            })
            .await;
        elapsed
    }

    /// The server saw the socket of `session` in `room` end (now).
    pub async fn dropped(&self, room: &str, session: &str) {
        let key: Key = (room.to_owned(), session.to_owned());
        {
            let mut m = self.mem.lock().unwrap_or_else(PoisonError::into_inner);
            if m.len() >= MAX_DROPPED
                && !m.contains_key(&key)
                && let Some(oldest) = m.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone())
            {
                m.remove(&oldest);
            }
            m.insert(key.clone(), Instant::now());
        }
        let at = now_ms();
        let _ = self
            .rooms
            .db(move |c| {
                c.execute(
                    "INSERT INTO ws_sessions (room_id, session_id, dropped_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (room_id, session_id) DO UPDATE SET dropped_ms = ?3",
                    rusqlite::params![key.0, key.1, at],
                )
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("office-reconnect-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir.join("office.db")
    }

    #[tokio::test]
    async fn a_drop_survives_a_restart_and_an_open_session_counts_from_the_start() {
        let path = store("restart");
        let rooms = Rooms::open(&path, 10).expect("open");
        let drops = Drops::load(&rooms).await.expect("load");
        assert_eq!(drops.opened("r", "gone", false).await, None);
        assert_eq!(drops.opened("r", "open", false).await, None);
        drops.dropped("r", "gone").await;
        assert_eq!(drops.opened("r", "gone", false).await, None, "a fresh join is no resume");
        drops.dropped("r", "gone").await;
        drop((drops, rooms));
        std::thread::sleep(Duration::from_millis(200));

        let rooms = Rooms::open(&path, 10).expect("reopen");
        let started = Instant::now();
        let drops = Drops::load(&rooms).await.expect("load");
        assert_eq!(drops.len(), 2);
        let gone = drops.opened("r", "gone", true).await.expect("the drop before the restart");
        assert!(gone >= Duration::from_millis(200), "the downtime is in it: {gone:?}");
        let open = drops.opened("r", "open", true).await.expect("open at the 'crash'");
        assert!(open <= started.elapsed(), "from this server's start: {open:?}");
        assert_eq!(drops.opened("r", "open", true).await, None, "counted once");
        assert!(drops.is_empty());
    }
}
