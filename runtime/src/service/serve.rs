//! Serving a `Router` with graceful shutdown (blueprint 09 §5.1 operations).
//!
//! On SIGTERM (or SIGINT, or [`Shutdown::trigger`]): readiness goes false
//! (`/_health` answers 503, so a load balancer stops sending), the listener
//! stops accepting, idle keep-alive connections are closed, in-flight
//! requests finish (up to the drain timeout), and [`serve`] returns. Long-lived
//! connections (WebSockets) watch [`Shutdown::subscribe`] and close themselves.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_service::Service as _;

/// A shutdown trigger shared by the server, its signal handler and any
/// long-lived task (WebSocket sessions, retry loops). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A trigger not yet pulled.
    pub fn new() -> Self {
        Self { tx: Arc::new(watch::channel(false).0) }
    }

    /// Starts the shutdown (idempotent).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the shutdown has started.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once the shutdown has started.
    pub fn wait(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // An error means the sender is gone: nobody can trigger any more.
            let _ = rx.wait_for(|v| *v).await;
        }
    }

    /// A receiver for tasks that `select!` on the shutdown.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C). If a handler cannot be installed,
/// that signal is simply not waited for.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Binds `addr` (port 0 picks a free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Writes the bound address (`127.0.0.1:34567`) as one line on stdout and
/// flushes it: tests and scripts started with `--listen 127.0.0.1:0` read
/// stdout line 1 to find the service.
pub fn announce(listener: &TcpListener) -> std::io::Result<SocketAddr> {
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{addr}")?;
    out.flush()?;
    Ok(addr)
}

/// How [`serve`] shuts down.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    shutdown: Shutdown,
    ready: Option<Arc<AtomicBool>>,
    drain_timeout: Duration,
    signals: bool,
    header_read_timeout: Duration,
}

impl ServeOptions {
    /// Shuts down when `shutdown` is triggered (and, by default, on SIGTERM or
    /// SIGINT); drains for at most 10 s.
    pub fn new(shutdown: Shutdown) -> Self {
        Self {
            shutdown,
            ready: None,
            drain_timeout: Duration::from_secs(10),
            signals: true,
            header_read_timeout: Duration::from_secs(10),
        }
    }

    /// Longest time a connection may take to send a request's line and
    /// headers (hyper's `header_read_timeout`, from the connection's start or
    /// the previous response); a slower client is disconnected (default 10 s).
    /// Bodies are bounded by `obspec::http::BodyLimitLayer::read_timeout`.
    pub fn header_read_timeout(mut self, d: Duration) -> Self {
        self.header_read_timeout = d;
        self
    }

    /// The readiness flag `/_health` reports; set to false when draining starts.
    pub fn ready(mut self, ready: Arc<AtomicBool>) -> Self {
        self.ready = Some(ready);
        self
    }

    /// Longest wait for in-flight requests once draining started.
    pub fn drain_timeout(mut self, d: Duration) -> Self {
        self.drain_timeout = d;
        self
    }

    /// Whether SIGTERM/SIGINT trigger the shutdown (default true).
    pub fn signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }
}

/// Serves `app` on `listener` until the shutdown, then drains: see the
/// [module docs](self). HTTP/1.1 (with upgrades, for WebSockets); each
/// request carries `ConnectInfo<SocketAddr>`; a connection that does not send
/// a complete request head within [`ServeOptions::header_read_timeout`] is
/// closed. Returns `Ok` after a clean or timed-out drain.
pub async fn serve(listener: TcpListener, app: Router, opts: ServeOptions) -> std::io::Result<()> {
    let ServeOptions { shutdown, ready, drain_timeout, signals, header_read_timeout } = opts;
    if signals {
        let s = shutdown.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            s.trigger();
        });
    }
    // Every connection task holds a receiver: `closed()` resolves when all are gone.
    let (conns_tx, conns_rx) = watch::channel(());
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut stop => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                // A connection reset before accept: nothing to do.
                Err(e) if is_connection_error(&e) => continue,
                // Out of file descriptors and the like: back off (as axum does).
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(remote));
            let mut app = app.clone();
            // A Router is always ready.
            async move { app.call(req).await }
        });
        let (conn_guard, stopping) = (conns_rx.clone(), shutdown.wait());
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            tokio::pin!(conn, stopping);
            let mut draining = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    () = &mut stopping, if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(conn_guard);
        });
    }
    if let Some(r) = &ready {
        r.store(false, Ordering::Release);
    }
    drop(listener);
    drop(conns_rx);
    let _ = tokio::time::timeout(drain_timeout, conns_tx.closed()).await;
    Ok(())
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// Long-lived tasks a service must let finish before it exits (WebSocket
/// sessions, webhook retries): spawn them here, then [`Tasks::wait_idle`]
/// after [`serve`] returned. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    inner: Arc<TasksInner>,
}

#[derive(Debug, Default)]
struct TasksInner {
    running: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

struct TaskGuard(Arc<TasksInner>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Tasks {
    /// No task yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns `fut` on the current runtime, counted until it ends (or panics).
    pub fn spawn<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.running.fetch_add(1, Ordering::AcqRel);
        let guard = TaskGuard(Arc::clone(&self.inner));
        tokio::spawn(async move {
            let _guard = guard;
            fut.await;
        });
    }

    /// Counts the current task (for work already running, e.g. an upgraded
    /// connection's handler) until the returned guard is dropped.
    pub fn enter(&self) -> impl Drop + Send + 'static {
        self.inner.running.fetch_add(1, Ordering::AcqRel);
        TaskGuard(Arc::clone(&self.inner))
    }

    /// Tasks running now.
    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::Acquire)
    }

    /// Waits until no task runs, at most `timeout`; false on timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.idle.notified();
            if self.running() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.running() == 0;
            }
        }
    }
}
