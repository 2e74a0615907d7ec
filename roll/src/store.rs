//! Opening the object store a roll writes to, from a URL.
//!
//! - a path or `file:///abs/dir`: a local directory ([`LocalFileSystem`]), created if missing;
//! - `s3://bucket[/prefix][?endpoint=…&region=…&allow_http=true]`: any S3-compatible store
//!   (Amazon S3, Cloudflare R2, MinIO) through [`AmazonS3Builder`];
//! - `r2://bucket[/prefix]?endpoint=https://<account>.r2.cloudflarestorage.com`: the same with
//!   region `auto`.
//!
//! S3 settings not in the URL come from the usual `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT`); query parameters `access_key_id` and `secret_access_key` (or the URL's
//! user and password) override them. Requests are path-style (virtual-hosted style off),
//! which R2 and MinIO accept. Plain HTTP is allowed only for a loopback endpoint or with
//! `allow_http=true`.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use url::Url;

use crate::error::{Error, Result, io_err};

/// Opens the store named by `url` (see the module documentation).
pub fn open_store(url: &str) -> Result<Arc<dyn ObjectStore>> {
    if url.is_empty() {
        return Err(Error::Config("empty store URL".into()));
    }
    if !url.contains("://") {
        return open_local(Path::new(url));
    }
    let parsed = Url::parse(url).map_err(|e| Error::Config(format!("store URL {url:?}: {e}")))?;
    match parsed.scheme() {
        "file" => {
            let dir = parsed.to_file_path().map_err(|()| Error::Config(format!("{url:?} is not a local path")))?;
            open_local(&dir)
        }
        "s3" | "r2" => open_s3(&parsed),
        other => Err(Error::Config(format!("unsupported store scheme {other:?}: use a path, file://, s3:// or r2://"))),
    }
}

/// A local directory as a store; the directory is created when missing.
pub fn open_local(dir: &Path) -> Result<Arc<dyn ObjectStore>> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let fs = LocalFileSystem::new_with_prefix(dir)
        .map_err(|e| Error::Config(format!("local store {}: {e}", dir.display())))?;
    Ok(Arc::new(fs))
}

/// Whether an endpoint URL points at a loopback address (`localhost`, `127.0.0.0/8`, `[::1]`).
pub fn is_loopback(endpoint: &str) -> bool {
    let Ok(u) = Url::parse(endpoint) else { return false };
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Installs rustls' `ring` crypto provider as the process default, once.
///
/// obspec builds `object_store` with `ring` rather than the `aws` feature's
/// aws-lc-rs (whose C build costs minutes on a cold machine), so HTTPS stores
/// need a provider installed before the first request. Calling this again, or
/// after the application installed its own provider, does nothing.
pub fn install_tls_provider() {
    // `Err` only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn open_s3(url: &Url) -> Result<Arc<dyn ObjectStore>> {
    install_tls_provider();
    let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| Error::Config(format!("{url}: no bucket")))?;
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket).with_virtual_hosted_style_request(false);
    if url.scheme() == "r2" {
        b = b.with_region("auto");
    }
    if !url.username().is_empty() {
        b = b.with_access_key_id(decode(url.username()));
    }
    if let Some(p) = url.password() {
        b = b.with_secret_access_key(decode(p));
    }
    let mut endpoint = std::env::var("AWS_ENDPOINT").or_else(|_| std::env::var("AWS_ENDPOINT_URL")).ok();
    let mut allow_http = None;
    for (k, v) in url.query_pairs() {
        match &*k {
            "endpoint" => endpoint = Some(v.into_owned()),
            "region" => b = b.with_region(v.into_owned()),
            "access_key_id" => b = b.with_access_key_id(v.into_owned()),
            "secret_access_key" => b = b.with_secret_access_key(v.into_owned()),
            "session_token" => b = b.with_token(v.into_owned()),
            "allow_http" => {
                allow_http = Some(match &*v {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(Error::Config(format!("allow_http must be true or false, not {v:?}"))),
                })
            }
            other => return Err(Error::Config(format!("unknown store URL parameter {other:?}"))),
        }
    }
    if let Some(e) = &endpoint {
        b = b.with_endpoint(e.clone());
        let http = e.starts_with("http://");
        if http && allow_http.is_none() && !is_loopback(e) {
            return Err(Error::Config(format!(
                "endpoint {e} is plain HTTP and not loopback: use https, or add allow_http=true"
            )));
        }
        b = b.with_allow_http(allow_http.unwrap_or(http));
    } else if url.scheme() == "r2" {
        return Err(Error::Config("r2:// needs endpoint=https://<account>.r2.cloudflarestorage.com".into()));
    }
    let s3 = b.build().map_err(|e| Error::Config(format!("S3 store {url}: {e}")))?;
    let prefix = url.path().trim_matches('/');
    if prefix.is_empty() {
        Ok(Arc::new(s3))
    } else {
        let p =
            object_store::path::Path::parse(prefix).map_err(|e| Error::Config(format!("prefix {prefix:?}: {e}")))?;
        Ok(Arc::new(PrefixStore::new(s3, p)))
    }
}

fn decode(s: &str) -> String {
    percent_decode(s)
}

/// Minimal percent-decoding for URL user info (`%2B` → `+`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).and_then(hex_val), b.get(i + 2).and_then(hex_val))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: &u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(is_loopback("http://127.0.0.1:9000"));
        assert!(is_loopback("http://localhost:9000"));
        assert!(is_loopback("http://[::1]:9000"));
        assert!(!is_loopback("http://10.0.0.1:9000"));
        assert_eq!(percent_decode("a%2Bb%2f"), "a+b/");
        assert!(open_store("ftp://x").is_err());
        assert!(open_store("s3://b?endpoint=http://10.1.2.3:9000").is_err());
        assert!(open_store("s3://b?bogus=1").is_err());
        assert!(open_store("r2://b").is_err());
        assert!(open_store("s3://b/pre/fix?endpoint=http://127.0.0.1:1&region=auto").is_ok());
        let dir = tempfile::tempdir().unwrap();
        assert!(open_store(dir.path().join("x").to_str().unwrap()).is_ok());
        assert!(open_store(&format!("file://{}", dir.path().display())).is_ok());
    }
}
