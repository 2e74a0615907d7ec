//! Webhook deliveries: each appended link is POSTed (IDs only) to every
//! configured destination, with retries and exponential backoff. Every
//! attempt moves `webhook_delivery_total{dest,ok}` and
//! `webhook_delivery_duration_seconds{dest}`, appends a `webhook.delivery_min`
//! trail record, logs one line and updates the delivery's row.
//!
//! **Durability.** The `webhook_deliveries` table is an outbox: a link's
//! delivery rows are written in the same transaction as the link
//! ([`enqueue`]), and each row records the attempts made and when the next one
//! is due (`next_ms`) *before* the attempt's trail and log. At start-up
//! [`Webhooks::resume`] picks up every row still `pending` or `retrying` (a
//! SIGTERM stops retry loops without failing them; a `kill -9` stops them
//! anywhere) and continues it from its next attempt, at its due time, within
//! the same attempt budget. A process killed after a destination answered 2xx
//! but before the row was updated sends that attempt again on resume: every
//! request carries an `idempotency-key` (`<link_id>:<dest>`, the same on
//! every attempt), so a destination can drop the repeat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use obspec::event::{LogEvent, TrailEnum};
use obspec::service::{Shutdown, Tasks, TrailSink};
use obspec_generated::ErrorToken;
use obspec_generated::metrics;
use rusqlite::Connection;

use crate::api::now_ms;
use crate::db::{Db, DbOp};
use crate::obs::{CoreError, DeliveryMin, DeliveryState, WebhookAttempt};

/// The header carrying a delivery's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// State of a delivery row never attempted yet (the others are [`DeliveryState`]'s).
const PENDING: &str = "pending";

/// What a destination receives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkEvent {
    /// The new link.
    pub link_id: String,
    /// Its room.
    pub room_id: String,
    /// What it points to.
    pub target_id: String,
}

/// One row of the outbox, as loaded or just written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Row ID.
    pub id: i64,
    /// Destination ID.
    pub dest: String,
    /// Tenant of the link.
    pub tenant: String,
    /// What is sent.
    pub event: LinkEvent,
    /// Attempts already made.
    pub attempts: u32,
    /// When the next attempt is due (ms since the epoch; 0: now).
    pub next_ms: i64,
}

/// Writes one `pending` delivery row per destination in `dests` for the link
/// `event` of `tenant`, on `c` (inside the transaction that wrote the link).
pub fn enqueue(c: &Connection, dests: &[String], tenant: &str, event: &LinkEvent) -> rusqlite::Result<Vec<Delivery>> {
    let now = now_ms();
    let mut st = c.prepare(
        "INSERT INTO webhook_deliveries (dest, link_id, tenant, state, attempts, updated_ms, next_ms)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, 0)",
    )?;
    let mut out = Vec::with_capacity(dests.len());
    for dest in dests {
        st.execute(rusqlite::params![dest, event.link_id, tenant, PENDING, now])?;
        out.push(Delivery {
            id: c.last_insert_rowid(),
            dest: dest.clone(),
            tenant: tenant.to_owned(),
            event: event.clone(),
            attempts: 0,
            next_ms: 0,
        });
    }
    Ok(out)
}

/// The delivery machinery; cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks {
    client: reqwest::Client,
    dests: Arc<[(String, String)]>,
    attempts: u32,
    backoff: Duration,
    timeout: Duration,
    trails: TrailSink,
    db: Db,
    shutdown: Shutdown,
    tasks: Tasks,
}

/// Settings of [`Webhooks::new`].
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `(id, url)` of each destination.
    pub dests: Vec<(String, String)>,
    /// Attempts per delivery (at least 1), counted across restarts.
    pub attempts: u32,
    /// Delay before the second attempt; doubles after each failure.
    pub backoff: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
}

impl Webhooks {
    /// Delivers to `settings.dests`.
    pub fn new(
        settings: WebhookSettings,
        trails: TrailSink,
        db: Db,
        shutdown: Shutdown,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(settings.timeout).build()?;
        Ok(Self {
            client,
            dests: settings.dests.into(),
            attempts: settings.attempts.max(1),
            backoff: settings.backoff,
            timeout: settings.timeout,
            trails,
            db,
            shutdown,
            tasks: Tasks::new(),
        })
    }

    /// The IDs of the configured destinations (what [`enqueue`] writes rows for).
    pub fn dest_ids(&self) -> Vec<String> {
        self.dests.iter().map(|(d, _)| d.clone()).collect()
    }

    /// Starts `deliveries` (rows [`enqueue`] wrote) in the background.
    pub fn start(&self, deliveries: Vec<Delivery>) {
        for d in deliveries {
            let me = self.clone();
            self.tasks.spawn(async move { me.deliver(d).await });
        }
    }

    /// Loads every delivery left `pending` or `retrying` by an earlier run and
    /// starts it again (from its next attempt, at its due time); returns how
    /// many were started. Rows of a destination no longer configured stay as
    /// they are, to be resumed once it is configured again.
    pub async fn resume(&self) -> Result<usize, CoreError> {
        let open = self
            .db
            .run(DbOp::WebhookDeliveriesOpen, |c| {
                let mut st = c.prepare(
                    "SELECT d.id, d.dest, d.tenant, d.attempts, d.next_ms, l.id, l.room_id, l.target_id
                     FROM webhook_deliveries d JOIN links l ON l.id = d.link_id
                     WHERE d.state IN (?1, ?2) ORDER BY d.id",
                )?;
                let rows = st.query_map(rusqlite::params![PENDING, DeliveryState::Retrying.as_trail_str()], |r| {
                    Ok(Delivery {
                        id: r.get(0)?,
                        dest: r.get(1)?,
                        tenant: r.get(2)?,
                        attempts: r.get(3)?,
                        next_ms: r.get(4)?,
                        event: LinkEvent { link_id: r.get(5)?, room_id: r.get(6)?, target_id: r.get(7)? },
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<Delivery>>>()
            })
            .await?;
        let open: Vec<Delivery> = open.into_iter().filter(|d| self.url_of(&d.dest).is_some()).collect();
        let n = open.len();
        self.start(open);
        Ok(n)
    }

    /// Deliveries in progress.
    pub fn running(&self) -> usize {
        self.tasks.running()
    }

    /// Waits until no delivery runs, at most `timeout`; false on timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        self.tasks.wait_idle(timeout).await
    }

    fn url_of(&self, dest: &str) -> Option<&str> {
        self.dests.iter().find(|(d, _)| d == dest).map(|(_, u)| u.as_str())
    }

    /// The wait after the `attempt`-th failed attempt (from 1).
    fn delay_after(&self, attempt: u32) -> Duration {
        self.backoff.saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
    }

    /// Sleeps `d` unless the shutdown starts first; false on shutdown.
    async fn pause(&self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => true,
            () = self.shutdown.wait() => false,
        }
    }

    async fn set_state(&self, id: i64, state: &'static str, attempts: u32, next_ms: i64) {
        // A failed update is retried by nobody: the row keeps its last state
        // and is resumed at the next start (at worst one repeated attempt).
        let _ = self
            .db
            .run(DbOp::WebhookDeliveriesUpdate, move |c| {
                c.execute(
                    "UPDATE webhook_deliveries SET state = ?1, attempts = ?2, next_ms = ?3, updated_ms = ?4 WHERE id = ?5",
                    rusqlite::params![state, attempts, next_ms, now_ms(), id],
                )
            })
            .await;
    }

    async fn deliver(&self, d: Delivery) {
        let Some(url) = self.url_of(&d.dest).map(str::to_owned) else { return };
        if d.attempts >= self.attempts {
            // Out of attempts already (the budget was lowered between runs).
            self.set_state(d.id, DeliveryState::Failed.as_trail_str(), d.attempts, 0).await;
            return;
        }
        let due = u64::try_from(d.next_ms.saturating_sub(now_ms())).unwrap_or(0);
        if due > 0 && !self.pause(Duration::from_millis(due)).await {
            return;
        }
        let key = format!("{}:{}", d.event.link_id, d.dest);
        for attempt in d.attempts + 1..=self.attempts {
            if self.shutdown.is_triggered() {
                // Left `pending`/`retrying`: the next start resumes it.
                return;
            }
            let start = Instant::now();
            let sent = self
                .client
                .post(&url)
                .header(crate::api::TENANT_HEADER, &d.tenant)
                .header(IDEMPOTENCY_HEADER, &key)
                .timeout(self.timeout)
                .json(&d.event)
                .send()
                .await;
            let elapsed = start.elapsed();
            let err = match &sent {
                Ok(r) if r.status().is_success() => None,
                Ok(_) => Some(ErrorToken::UpstreamUnavailable),
                Err(e) if e.is_timeout() => Some(ErrorToken::UpstreamTimeout),
                Err(_) => Some(ErrorToken::UpstreamUnavailable),
            };
            let ok = err.is_none();
            let last = attempt == self.attempts;
            let state = match (ok, last) {
                (true, _) => DeliveryState::Delivered,
                (false, true) => DeliveryState::Failed,
                (false, false) => DeliveryState::Retrying,
            };
            let delay = self.delay_after(attempt);
            let next_ms = if state == DeliveryState::Retrying {
                now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
            } else {
                0
            };
            // The row first: what a restart resumes from.
            self.set_state(d.id, state.as_trail_str(), attempt, next_ms).await;
            metrics::webhook_delivery_total(&d.dest, ok).increment(1);
            metrics::webhook_delivery_duration_seconds(&d.dest).record(elapsed.as_secs_f64());
            // A failed trail write is counted by the sink; the delivery goes on.
            let _ =
                self.trails.append(&d.tenant, &DeliveryMin { dest: &d.dest, state, attempt: u64::from(attempt) }).await;
            WebhookAttempt {
                tenant: &d.tenant,
                ok,
                latency_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                err_token: err,
                cost_calls: u64::from(attempt),
            }
            .emit();
            if state != DeliveryState::Retrying || !self.pause(delay).await {
                return;
            }
        }
    }
}
