//! Webhook deliveries: each appended link is POSTed (IDs only) to every
//! configured destination, with retries and exponential backoff. Every
//! attempt moves `webhook_delivery_total{dest,ok}` and
//! `webhook_delivery_duration_seconds{dest}`, appends a `webhook.delivery_min`
//! trail record, logs one line and updates the delivery's row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use obspec::event::LogEvent;
use obspec::service::{Shutdown, Tasks, TrailSink};
use obspec_generated::ErrorToken;
use obspec_generated::metrics;

use crate::db::Db;
use crate::obs::{DeliveryMin, DeliveryState, WebhookAttempt};

/// What a destination receives.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkEvent {
    /// The new link.
    pub link_id: String,
    /// Its room.
    pub room_id: String,
    /// What it points to.
    pub target_id: String,
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
    /// Attempts per delivery (at least 1).
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

    /// Starts delivering `ev` of `tenant` to every destination (in the background).
    pub fn notify(&self, tenant: &str, ev: &LinkEvent) {
        for (dest, url) in self.dests.iter() {
            let me = self.clone();
            let (dest, url, tenant, ev) = (dest.clone(), url.clone(), tenant.to_owned(), ev.clone());
            self.tasks.spawn(async move { me.deliver(&dest, &url, &tenant, &ev).await });
        }
    }

    /// Deliveries in progress.
    pub fn running(&self) -> usize {
        self.tasks.running()
    }

    /// Waits until no delivery runs, at most `timeout`; false on timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        self.tasks.wait_idle(timeout).await
    }

    async fn deliver(&self, dest: &str, url: &str, tenant: &str, ev: &LinkEvent) {
        let (d, l) = (dest.to_owned(), ev.link_id.clone());
        let row = self
            .db
            .run("webhook_deliveries.insert", move |c| {
                c.execute(
                    "INSERT INTO webhook_deliveries (dest, link_id, state, attempts, updated_ms) VALUES (?1, ?2, 'pending', 0, ?3)",
                    rusqlite::params![d, l, crate::api::now_ms()],
                )?;
                Ok(c.last_insert_rowid())
            })
            .await
            .ok();
        let mut delay = self.backoff;
        for attempt in 1..=self.attempts {
            let start = Instant::now();
            let sent = self.client.post(url).header("x-tenant-id", tenant).timeout(self.timeout).json(ev).send().await;
            let elapsed = start.elapsed();
            let err = match &sent {
                Ok(r) if r.status().is_success() => None,
                Ok(_) => Some(ErrorToken::UpstreamUnavailable),
                Err(e) if e.is_timeout() => Some(ErrorToken::UpstreamTimeout),
                Err(_) => Some(ErrorToken::UpstreamUnavailable),
            };
            let ok = err.is_none();
            metrics::webhook_delivery_total(dest, ok).increment(1);
            metrics::webhook_delivery_duration_seconds(dest).record(elapsed.as_secs_f64());
            let last = attempt == self.attempts || self.shutdown.is_triggered();
            let state = match (ok, last) {
                (true, _) => DeliveryState::Delivered,
                (false, true) => DeliveryState::Failed,
                (false, false) => DeliveryState::Retrying,
            };
            // A failed trail write is counted by the sink; the delivery goes on.
            let _ = self.trails.append(tenant, &DeliveryMin { dest, state, attempt: u64::from(attempt) }).await;
            WebhookAttempt {
                tenant,
                ok,
                latency_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                err_token: err,
                cost_calls: u64::from(attempt),
            }
            .emit();
            if let Some(id) = row {
                let st = obspec::event::TrailEnum::as_trail_str(&state);
                let _ = self
                    .db
                    .run("webhook_deliveries.update", move |c| {
                        c.execute(
                            "UPDATE webhook_deliveries SET state = ?1, attempts = ?2, updated_ms = ?3 WHERE id = ?4",
                            rusqlite::params![st, attempt, crate::api::now_ms(), id],
                        )
                    })
                    .await;
            }
            if ok || last {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.shutdown.wait() => {}
            }
            delay = delay.saturating_mul(2);
        }
    }
}
