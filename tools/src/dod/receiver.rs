//! The webhook receiver Alertmanager posts to: it listens on the address the
//! generated `alertmanager.yml` names, keeps every notification (with the time
//! it arrived) and appends each raw body to a file, for the privacy checks.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::task::JoinHandle;

/// One notification.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Request path (`/page`, `/ticket`).
    pub path: String,
    /// Unix seconds it arrived.
    pub at: f64,
    /// The body Alertmanager sent.
    pub body: Value,
}

/// The running receiver; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    /// `host:port`.
    pub addr: String,
    /// Where raw bodies are appended.
    pub file: PathBuf,
    got: Arc<Mutex<Vec<Notification>>>,
    task: JoinHandle<()>,
}

/// The webhook addresses (`host:port`) and paths of every receiver in an Alertmanager config.
pub fn webhook_urls(alertmanager_yml: &str) -> Vec<String> {
    let Ok(docs) = yaml_rust2::YamlLoader::load_from_str(alertmanager_yml) else { return Vec::new() };
    let mut out = Vec::new();
    for doc in docs {
        for r in doc["receivers"].as_vec().cloned().unwrap_or_default() {
            for w in r["webhook_configs"].as_vec().cloned().unwrap_or_default() {
                if let Some(u) = w["url"].as_str() {
                    out.push(u.to_owned());
                }
            }
        }
    }
    out
}

/// `host:port` of an `http://host:port/path` URL.
pub fn host_port(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    Some(rest.split('/').next()?.to_owned())
}

fn now() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Receiver {
    /// Listens on `addr`.
    pub async fn start(addr: &str, file: &Path) -> Result<Receiver, String> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("the webhook receiver cannot listen on {addr} (from alertmanager.yml): {e}"))?;
        let got: Arc<Mutex<Vec<Notification>>> = Arc::default();
        let (g, f) = (Arc::clone(&got), file.to_path_buf());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (g, f) = (Arc::clone(&g), f.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (g, f) = (Arc::clone(&g), f.clone());
                        async move {
                            let path = req.uri().path().to_owned();
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let mut line = body.to_vec();
                            line.push(b'\n');
                            if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(&f) {
                                let _ = std::io::Write::write_all(&mut file, &line);
                            }
                            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            g.lock().unwrap_or_else(PoisonError::into_inner).push(Notification {
                                path,
                                at: now(),
                                body,
                            });
                            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                        }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
        Ok(Receiver { addr: addr.to_owned(), file: file.to_path_buf(), got, task })
    }

    /// Every notification so far.
    pub fn notifications(&self) -> Vec<Notification> {
        self.got.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
