//! Rooms: a per-room sequence of events, the last `history` of them kept in
//! memory and in SQLite (WAL, `synchronous=FULL`: an event is on disk before
//! anyone sees it, so it survives `kill -9`), broadcast to the room's sockets.
//!
//! Appending and subscribing take the same per-room lock, so a reconnecting
//! session's snapshot of missed events and its live feed meet exactly: no
//! gap, no duplicate.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::Value;
use tokio::sync::{Mutex, broadcast};

use crate::obs::OfficeError;

/// One sequenced event of a room.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the room (from 1, no gaps).
    pub seq: u64,
    /// The event's JSON as sent to clients: `{"seq":…,"type":…,"session_id":…,"data":…}`.
    pub json: Arc<str>,
}

/// What a (re)connecting session gets: the events after its `last_seq` that
/// are still kept, and the live feed from there on.
#[derive(Debug)]
pub struct Subscription {
    /// Missed events, in order.
    pub replay: Vec<Event>,
    /// True when the session missed more than is kept (older events are gone).
    pub truncated: bool,
    /// The room's sequence number at subscription.
    pub room_seq: u64,
    /// Live events (may repeat the end of `replay`: skip `seq <= last sent`).
    pub live: broadcast::Receiver<Event>,
}

#[derive(Debug)]
struct State {
    seq: u64,
    recent: VecDeque<Event>,
}

/// One room.
#[derive(Debug)]
pub struct Room {
    state: Mutex<State>,
    tx: broadcast::Sender<Event>,
    /// Expected end of each tool call running in the room, and the last call ID.
    calls: StdMutex<(Vec<(u64, Instant)>, u64)>,
}

/// A running tool call's slot in its room; released when dropped.
#[derive(Debug)]
pub struct CallSlot {
    room: Arc<Room>,
    id: u64,
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        let mut c = self.room.calls.lock().unwrap_or_else(PoisonError::into_inner);
        c.0.retain(|(id, _)| *id != self.id);
    }
}

impl Room {
    /// Takes one of `cap` tool-call slots for a call expected to last
    /// `expected`, or says how long until the first running call should end.
    pub fn try_call(self: &Arc<Self>, cap: usize, expected: Duration) -> Result<CallSlot, Duration> {
        let now = Instant::now();
        let mut c = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        if c.0.len() >= cap {
            let first_end = c.0.iter().map(|(_, end)| *end).min().unwrap_or(now);
            return Err(first_end.saturating_duration_since(now).max(Duration::from_millis(1)));
        }
        c.1 += 1;
        let id = c.1;
        c.0.push((id, now + expected));
        Ok(CallSlot { room: Arc::clone(self), id })
    }

    /// The room's sequence number and the number of events kept.
    pub async fn stats(&self) -> (u64, usize) {
        let s = self.state.lock().await;
        (s.seq, s.recent.len())
    }
}

/// Every room, backed by the database.
#[derive(Debug, Clone)]
pub struct Rooms {
    db: Arc<StdMutex<Connection>>,
    rooms: Arc<StdMutex<HashMap<String, Arc<Room>>>>,
    history: usize,
}

impl Rooms {
    /// Opens (creating) the event store at `path`.
    pub fn open(path: &Path, history: usize) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: the WAL is fsynced at every commit, so an acknowledged event survives kill -9.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                room_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                json TEXT NOT NULL,
                PRIMARY KEY (room_id, seq)
            ) WITHOUT ROWID;",
        )?;
        Ok(Self { db: Arc::new(StdMutex::new(conn)), rooms: Arc::default(), history: history.max(1) })
    }

    /// Runs `f` on the store's connection, on the blocking pool.
    pub(crate) async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, OfficeError> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db.lock().unwrap_or_else(PoisonError::into_inner)))
            .await
            .map_err(|_| OfficeError::Internal)?
            .map_err(|_| OfficeError::Internal)
    }

    /// The room `id`, loaded from the store on first use.
    pub async fn room(&self, id: &str) -> Result<Arc<Room>, OfficeError> {
        if let Some(r) = self.rooms.lock().unwrap_or_else(PoisonError::into_inner).get(id) {
            return Ok(Arc::clone(r));
        }
        let (room_id, keep) = (id.to_owned(), i64::try_from(self.history).unwrap_or(i64::MAX));
        let mut rows = self
            .db(move |c| {
                let mut st = c.prepare("SELECT seq, json FROM events WHERE room_id = ?1 ORDER BY seq DESC LIMIT ?2")?;
                let rows = st.query_map(rusqlite::params![room_id, keep], |r| {
                    Ok(Event {
                        seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        json: Arc::from(r.get::<_, String>(1)?),
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<Event>>>()
            })
            .await?;
        rows.reverse();
        let seq = rows.last().map_or(0, |e| e.seq);
        let (tx, _) = broadcast::channel(self.history.max(16) * 2);
        let room = Arc::new(Room {
            state: Mutex::new(State { seq, recent: rows.into() }),
            tx,
            calls: StdMutex::new((Vec::new(), 0)),
        });
        let mut map = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Arc::clone(map.entry(id.to_owned()).or_insert(room)))
    }

    /// Appends an event (durably) and broadcasts it; returns it.
    pub async fn append(&self, room_id: &str, make: impl FnOnce(u64) -> Value) -> Result<Event, OfficeError> {
        let room = self.room(room_id).await?;
        let mut s = room.state.lock().await;
        let seq = s.seq + 1;
        let json: Arc<str> = Arc::from(make(seq).to_string());
        let (r, j, keep) = (room_id.to_owned(), Arc::clone(&json), self.history as u64);
        let (seq_i, floor) =
            (i64::try_from(seq).unwrap_or(i64::MAX), i64::try_from(seq.saturating_sub(keep)).unwrap_or(0));
        self.db(move |c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO events (room_id, seq, json) VALUES (?1, ?2, ?3)",
                rusqlite::params![r, seq_i, &*j],
            )?;
            tx.execute("DELETE FROM events WHERE room_id = ?1 AND seq <= ?2", rusqlite::params![r, floor])?;
            tx.commit()
        })
        .await?;
        s.seq = seq;
        let ev = Event { seq, json };
        s.recent.push_back(ev.clone());
        while s.recent.len() > self.history {
            s.recent.pop_front();
        }
        // No receiver is fine: nobody is connected.
        let _ = room.tx.send(ev.clone());
        Ok(ev)
    }

    /// Subscribes to `room_id` from `last_seq` (0: from the start of what is kept).
    pub async fn subscribe(&self, room_id: &str, last_seq: u64) -> Result<Subscription, OfficeError> {
        let room = self.room(room_id).await?;
        let s = room.state.lock().await;
        let live = room.tx.subscribe();
        let replay: Vec<Event> = s.recent.iter().filter(|e| e.seq > last_seq).cloned().collect();
        let first_kept = s.recent.front().map_or(s.seq + 1, |e| e.seq);
        let truncated = last_seq + 1 < first_kept && s.seq > last_seq;
        Ok(Subscription { replay, truncated, room_seq: s.seq, live })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_last_events_and_replays_after_last_seq() {
        let dir = std::env::temp_dir().join(format!("office-rooms-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("unit.db");
        let _ = std::fs::remove_file(&path);
        let rooms = Rooms::open(&path, 5).expect("open");
        for i in 0..8u64 {
            rooms.append("r1", |seq| serde_json::json!({"seq": seq, "i": i})).await.expect("append");
        }
        let sub = rooms.subscribe("r1", 5).await.expect("sub");
        assert_eq!(sub.replay.iter().map(|e| e.seq).collect::<Vec<_>>(), [6, 7, 8]);
        assert!(!sub.truncated);
        let sub = rooms.subscribe("r1", 0).await.expect("sub");
        assert_eq!(sub.replay.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5, 6, 7, 8]);
        assert!(sub.truncated);
        drop(rooms);
        let again = Rooms::open(&path, 5).expect("reopen");
        let sub = again.subscribe("r1", 6).await.expect("sub");
        assert_eq!(sub.replay.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 8]);
        assert_eq!(again.append("r1", |s| serde_json::json!({"seq": s})).await.expect("append").seq, 9);
    }
}
