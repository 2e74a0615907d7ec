//! Media presign: signs a real S3 (or R2, MinIO) URL with `object_store`'s
//! signer; the object key is `<tenant>/<random id>`, so no client-chosen text
//! reaches the store's key space.

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;

use crate::obs::{CoreError, MediaOp};

/// The signer; absent when no credentials are configured (presign answers `UNAVAILABLE`).
#[derive(Debug, Clone)]
pub struct Media {
    s3: Option<AmazonS3>,
    ttl: Duration,
}

/// S3 settings.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Bucket.
    pub bucket: String,
    /// Region.
    pub region: String,
    /// Endpoint (path-style, plain HTTP allowed) or AWS when `None`.
    pub endpoint: Option<String>,
    /// Access key ID.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Lifetime of a URL.
    pub ttl: Duration,
}

impl Media {
    /// Builds the signer (no network: signing is local).
    pub fn new(s: S3Settings) -> Result<Self, object_store::Error> {
        let s3 = match (s.access_key_id, s.secret_access_key) {
            (Some(k), Some(secret)) => {
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(s.bucket)
                    .with_region(s.region)
                    .with_access_key_id(k)
                    .with_secret_access_key(secret);
                if let Some(e) = s.endpoint {
                    b = b.with_endpoint(e).with_allow_http(true).with_virtual_hosted_style_request(false);
                }
                Some(b.build()?)
            }
            _ => None,
        };
        Ok(Self { s3, ttl: s.ttl })
    }

    /// Lifetime of the URLs.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A presigned URL for `op` on `key`.
    pub async fn presign(&self, op: MediaOp, key: &str) -> Result<String, CoreError> {
        let s3 = self.s3.as_ref().ok_or(CoreError::Unavailable)?;
        let method = match op {
            MediaOp::Put => http::Method::PUT,
            MediaOp::Get => http::Method::GET,
        };
        let path = ObjectPath::parse(key).map_err(|_| CoreError::Invalid)?;
        s3.signed_url(method, &path, self.ttl).await.map(String::from).map_err(|_| CoreError::Unavailable)
    }
}
