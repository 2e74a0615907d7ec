//! Checkpoints: a signed statement of the newest sealed day of a trail (day,
//! manifest hash, chain length), published by the daily roll to a second
//! location so an auditor holds a head the bundle's owner cannot rewrite alone.
//!
//! The day manifests form a hash chain (`prev_manifest`), so the head commits
//! to every earlier day: a bundle ending on the checkpoint's day whose chain
//! reaches the checkpoint's hash cannot have dropped its newest day or
//! rewritten any day (see `CANONICAL.md`, "Checkpoints").

use crate::canonical::{self, Object, Value};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::hex;
use crate::sign::{self, Signer};

/// The `type` of a checkpoint document.
pub const CHECKPOINT_TYPE: &str = "obspec-trail/checkpoint";
/// Domain prefix of a checkpoint signature message.
pub const CHECKPOINT_DOMAIN: &[u8] = b"obspec-trail/v1/checkpoint\0";

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The newest sealed day.
    pub date: Date,
    /// The hash of that day's manifest ([`crate::manifest::Manifest::hash`]).
    pub head: [u8; 32],
    /// Days in the manifest chain from its first day (the one without
    /// `prev_manifest`) to `date`, both included; every day is sealed, empty
    /// or not, so the first day is `date − (size − 1)`.
    pub size: u64,
    /// Key id of the signature.
    pub kid: String,
    /// Ed25519 signature over [`sign::message`]`(CHECKPOINT_DOMAIN, kid, hash)`.
    pub sig: [u8; 64],
}

impl Checkpoint {
    /// Builds and signs a checkpoint.
    pub fn new(date: Date, head: [u8; 32], size: u64, signer: &Signer) -> Result<Checkpoint> {
        if size == 0 {
            return Err(Error::Manifest("a checkpoint covers at least one day".into()));
        }
        let mut c = Checkpoint { date, head, size, kid: signer.kid().to_owned(), sig: [0; 64] };
        c.sig = signer.sign(CHECKPOINT_DOMAIN, &c.hash()?);
        Ok(c)
    }

    /// The first day of the chain the checkpoint describes, or `None` when `size` reaches before year 1.
    pub fn first_day(&self) -> Option<Date> {
        let mut d = self.date;
        for _ in 1..self.size {
            if d == Date::new(1, 1, 1)? {
                return None;
            }
            d = d.pred();
        }
        Some(d)
    }

    fn to_value(&self, include_sig: bool) -> Result<Value> {
        let size = i64::try_from(self.size).map_err(|_| Error::NotCanonical("checkpoint size too large".into()))?;
        let mut o = Object::new()
            .with("type", CHECKPOINT_TYPE)
            .with("v", 1)
            .with("date", self.date.to_string())
            .with("head", hex::encode(&self.head))
            .with("size", size)
            .with("kid", self.kid.as_str());
        if include_sig {
            o.insert("sig", hex::encode(&self.sig));
        }
        Ok(Value::Object(o))
    }

    /// BLAKE3 of the JCS bytes without `sig`: what the signature covers.
    pub fn hash(&self) -> Result<[u8; 32]> {
        Ok(*blake3::hash(&canonical::to_jcs(&self.to_value(false)?, 4)?).as_bytes())
    }

    /// The stored bytes: JCS with `sig`, and a newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut b = canonical::to_jcs(&self.to_value(true)?, 4)?;
        b.push(b'\n');
        Ok(b)
    }

    /// The stored bytes in lower-case hex (the one-line form `verify --checkpoint HEX` takes).
    pub fn to_hex(&self) -> Result<String> {
        Ok(hex::encode(&self.to_bytes()?))
    }

    /// Whether the signature verifies (strictly) with `key`.
    pub fn verify_signature(&self, key: &ed25519_dalek::VerifyingKey) -> Result<bool> {
        Ok(sign::verify(key, CHECKPOINT_DOMAIN, &self.kid, &self.hash()?, &self.sig))
    }

    /// Parses stored bytes, which must be exactly what [`Checkpoint::to_bytes`] writes.
    pub fn parse(bytes: &[u8]) -> Result<Checkpoint> {
        let bad = |m: &str| Error::Manifest(format!("checkpoint: {m}"));
        if bytes.len() > 4096 {
            return Err(bad("longer than 4096 bytes"));
        }
        let body = bytes.strip_suffix(b"\n").ok_or_else(|| bad("must end with a newline"))?;
        let v = canonical::parse_with_depth(body, 4)?;
        let o = v.as_object().ok_or_else(|| bad("must be an object"))?;
        let s = |k: &str| -> Result<&str> {
            o.get(k).and_then(Value::as_str).ok_or_else(|| bad(&format!("`{k}` must be a string")))
        };
        if s("type")? != CHECKPOINT_TYPE || o.get("v") != Some(&Value::Int(1)) {
            return Err(bad("not a version 1 checkpoint"));
        }
        let c = Checkpoint {
            date: Date::parse(s("date")?).ok_or_else(|| bad("`date` must be YYYY-MM-DD"))?,
            head: hex::decode::<32>(s("head")?).ok_or_else(|| bad("`head` must be a hex hash"))?,
            size: o
                .get("size")
                .and_then(Value::as_int)
                .and_then(|i| u64::try_from(i).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad("`size` must be a positive integer"))?,
            kid: s("kid")?.to_owned(),
            sig: hex::decode::<64>(s("sig")?).ok_or_else(|| bad("`sig` must be 128 hex digits"))?,
        };
        if c.to_bytes()? != bytes {
            return Err(bad("not in canonical form or has unknown fields"));
        }
        Ok(c)
    }

    /// Parses a checkpoint given on a command line: the path of a file holding
    /// it, or its bytes in hex ([`Checkpoint::to_hex`]).
    pub fn from_arg(arg: &str) -> Result<Checkpoint> {
        let path = std::path::Path::new(arg);
        if path.is_file() {
            let bytes = std::fs::read(path).map_err(crate::error::io_err(path))?;
            return Checkpoint::parse(&bytes);
        }
        let text = arg.trim();
        if !text.len().is_multiple_of(2) || text.len() > 8192 || text.is_empty() {
            return Err(Error::Manifest(format!("{arg:?} is neither a checkpoint file nor a checkpoint in hex")));
        }
        let mut bytes = Vec::with_capacity(text.len() / 2);
        for pair in text.as_bytes().chunks_exact(2) {
            let s = std::str::from_utf8(pair).ok().and_then(hex::decode::<1>);
            match s {
                Some([b]) => bytes.push(b),
                None => {
                    return Err(Error::Manifest(format!(
                        "{arg:?} is neither a checkpoint file nor a checkpoint in hex"
                    )));
                }
            }
        }
        Checkpoint::parse(&bytes)
    }
}

/// Where the checkpoint of a day lives below a checkpoint prefix: `checkpoints/yyyy/mm/dd.json`.
pub fn checkpoint_rel_path(date: Date) -> String {
    format!("checkpoints/{}.json", date.path())
}

/// The path of the newest checkpoint below a checkpoint prefix.
pub const LATEST_REL_PATH: &str = "checkpoints/latest.json";
