//! Ed25519 signing of record hashes and manifests, with key ids for rotation.
//!
//! Signatures cover a domain-separated message that binds the key id, so a
//! signature cannot be moved to another key id or between records and
//! manifests. Verification always uses `verify_strict`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::error::{Error, Result, io_err};
use crate::hex;

/// Domain prefix of a record signature message.
pub const RECORD_DOMAIN: &[u8] = b"obspec-trail/v1/record\0";
/// Domain prefix of a manifest signature message.
pub const MANIFEST_DOMAIN: &[u8] = b"obspec-trail/v1/manifest\0";

/// Whether a key id is acceptable: 1–64 of `[A-Za-z0-9._-]`, not starting with a dot.
pub fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 64
        && !kid.starts_with('.')
        && kid.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The message signed for a record or manifest hash under a key id.
pub fn message(domain: &[u8], kid: &str, hash: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + kid.len() + 33);
    m.extend_from_slice(domain);
    m.extend_from_slice(kid.as_bytes());
    m.push(0);
    m.extend_from_slice(hash);
    m
}

/// A signing key with its key id.
pub struct Signer {
    kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(kid: &str, seed: &[u8; 32]) -> Result<Signer> {
        if !valid_kid(kid) {
            return Err(Error::Key(format!("invalid key id {kid:?}")));
        }
        Ok(Signer { kid: kid.to_owned(), key: SigningKey::from_bytes(seed) })
    }

    /// A signer with a fresh key from the operating system's random source.
    pub fn generate(kid: &str) -> Result<Signer> {
        let mut seed = [0u8; 32];
        let path = Path::new("/dev/urandom");
        let mut f = std::fs::File::open(path).map_err(io_err(path))?;
        std::io::Read::read_exact(&mut f, &mut seed).map_err(io_err(path))?;
        Signer::from_seed(kid, &seed)
    }

    /// Loads a signer from a file holding the 32-byte seed in hex (one line).
    pub fn load(kid: &str, path: &Path) -> Result<Signer> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let seed = hex::decode::<32>(text.trim())
            .ok_or_else(|| Error::Key(format!("{} does not hold a hex seed", path.display())))?;
        Signer::from_seed(kid, &seed)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs a hash under a domain (see [`RECORD_DOMAIN`], [`MANIFEST_DOMAIN`]).
    pub fn sign(&self, domain: &[u8], hash: &[u8; 32]) -> [u8; 64] {
        self.key.sign(&message(domain, &self.kid, hash)).to_bytes()
    }
}

/// Verifies a signature strictly (`verify_strict`: no small-order keys or `R`, canonical `S`).
pub fn verify(key: &VerifyingKey, domain: &[u8], kid: &str, hash: &[u8; 32], sig: &[u8; 64]) -> bool {
    let sig = Signature::from_bytes(sig);
    key.verify_strict(&message(domain, kid, hash), &sig).is_ok()
}

/// The fingerprint of a public key: BLAKE3 of its 32 bytes, in hex.
pub fn fingerprint(key: &VerifyingKey) -> String {
    hex::encode(blake3::hash(key.as_bytes()).as_bytes())
}

/// The text of a public key file: `ed25519 <64 hex digits>\n`.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    format!("ed25519 {}\n", hex::encode(key.as_bytes()))
}

/// Parses the text written by [`encode_public_key`]; rejects weak (small-order) keys.
pub fn decode_public_key(text: &[u8]) -> Option<VerifyingKey> {
    let text = std::str::from_utf8(text).ok()?;
    let hex_key = text.strip_prefix("ed25519 ")?.strip_suffix('\n')?;
    let bytes = hex::decode::<32>(hex_key)?;
    let key = VerifyingKey::from_bytes(&bytes).ok()?;
    (!key.is_weak()).then_some(key)
}

/// Where a public key lives below a trail root: `keys/<kid>.pub`.
pub fn public_key_path(root: &Path, kid: &str) -> PathBuf {
    root.join("keys").join(format!("{kid}.pub"))
}

/// Stores a public key below the root; an existing file must hold the same key.
pub fn store_public_key(root: &Path, kid: &str, key: &VerifyingKey) -> Result<PathBuf> {
    if !valid_kid(kid) {
        return Err(Error::Key(format!("invalid key id {kid:?}")));
    }
    let path = public_key_path(root, kid);
    let text = encode_public_key(key);
    match std::fs::read(&path) {
        Ok(existing) if existing == text.as_bytes() => return Ok(path),
        Ok(_) => {
            return Err(Error::Key(format!(
                "{} already holds a different key: key ids must not be reused",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&path)(e)),
    }
    crate::fsutil::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Public keys by key id.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<String, VerifyingKey>,
}

impl KeyRing {
    /// An empty key ring.
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    /// Adds a key.
    pub fn insert(&mut self, kid: &str, key: VerifyingKey) {
        self.keys.insert(kid.to_owned(), key);
    }

    /// The key of a key id.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    /// Keys in key id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &VerifyingKey)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Loads every `keys/*.pub` below a trail root.
    pub fn load_dir(root: &Path) -> Result<KeyRing> {
        let dir = root.join("keys");
        let mut ring = KeyRing::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ring),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(io_err(&dir))?.path();
            let Some(kid) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".pub")) else {
                continue;
            };
            let text = std::fs::read(&path).map_err(io_err(&path))?;
            let key = decode_public_key(&text)
                .ok_or_else(|| Error::Key(format!("{} is not a valid public key", path.display())))?;
            ring.insert(kid, key);
        }
        Ok(ring)
    }
}

/// What an auditor trusts for one key id: the public key itself, or its
/// [`fingerprint`] (then the bundle's `keys/<kid>.pub` must match it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trusted {
    /// The public key.
    Key(VerifyingKey),
    /// The BLAKE3 fingerprint of the public key, in hex.
    Fingerprint(String),
}

/// The keys an auditor obtained out of band, by key id.
///
/// File form ([`TrustedKeys::parse`]): one key a line, `<kid> ed25519 <64 hex>`
/// (the public key, as in `keys/<kid>.pub`) or `<kid> blake3 <64 hex>` (its
/// fingerprint); blank lines and lines starting with `#` are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    keys: BTreeMap<String, Trusted>,
}

impl TrustedKeys {
    /// No trusted key.
    pub fn new() -> TrustedKeys {
        TrustedKeys::default()
    }

    /// Trusts a public key under a key id.
    pub fn insert_key(&mut self, kid: &str, key: VerifyingKey) {
        self.keys.insert(kid.to_owned(), Trusted::Key(key));
    }

    /// Trusts a fingerprint under a key id.
    pub fn insert_fingerprint(&mut self, kid: &str, fingerprint: &str) {
        self.keys.insert(kid.to_owned(), Trusted::Fingerprint(fingerprint.to_owned()));
    }

    /// What is trusted for a key id.
    pub fn get(&self, kid: &str) -> Option<&Trusted> {
        self.keys.get(kid)
    }

    /// Whether `key` is the trusted key of `kid`.
    pub fn trusts(&self, kid: &str, key: &VerifyingKey) -> bool {
        match self.keys.get(kid) {
            Some(Trusted::Key(k)) => k == key,
            Some(Trusted::Fingerprint(f)) => *f == fingerprint(key),
            None => false,
        }
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Parses the file form (see the type's documentation).
    pub fn parse(text: &str) -> Result<TrustedKeys> {
        let mut out = TrustedKeys::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |m: &str| Error::Key(format!("trusted keys, line {}: {m}", n + 1));
            let mut it = line.split_ascii_whitespace();
            let (Some(kid), Some(kind), Some(value), None) = (it.next(), it.next(), it.next(), it.next()) else {
                return Err(bad("expected `<kid> ed25519 <hex key>` or `<kid> blake3 <hex fingerprint>`"));
            };
            if !valid_kid(kid) {
                return Err(bad("invalid key id"));
            }
            if out.keys.contains_key(kid) {
                return Err(bad("key id listed twice"));
            }
            match kind {
                "ed25519" => {
                    let key = decode_public_key(format!("ed25519 {value}\n").as_bytes())
                        .ok_or_else(|| bad("not a valid Ed25519 public key"))?;
                    out.insert_key(kid, key);
                }
                "blake3" => {
                    hex::decode::<32>(value).ok_or_else(|| bad("a fingerprint is 64 lower-case hex digits"))?;
                    out.insert_fingerprint(kid, value);
                }
                _ => return Err(bad("the key kind must be `ed25519` or `blake3`")),
            }
        }
        if out.is_empty() {
            return Err(Error::Key("the trusted keys file lists no key".into()));
        }
        Ok(out)
    }

    /// Reads and parses a trusted keys file.
    pub fn load(path: &Path) -> Result<TrustedKeys> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        TrustedKeys::parse(&text)
    }

    /// The line that trusts `key` under `kid` (what the owner hands an auditor).
    pub fn line(kid: &str, key: &VerifyingKey) -> String {
        format!("{kid} ed25519 {}", hex::encode(key.as_bytes()))
    }
}

impl From<&KeyRing> for TrustedKeys {
    fn from(ring: &KeyRing) -> TrustedKeys {
        let mut out = TrustedKeys::new();
        for (kid, key) in ring.iter() {
            out.insert_key(kid, *key);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_binds_kid_and_domain() {
        let s = Signer::from_seed("k1", &[7u8; 32]).unwrap();
        let h = [1u8; 32];
        let sig = s.sign(RECORD_DOMAIN, &h);
        let vk = s.verifying_key();
        assert!(verify(&vk, RECORD_DOMAIN, "k1", &h, &sig));
        assert!(!verify(&vk, RECORD_DOMAIN, "k2", &h, &sig));
        assert!(!verify(&vk, MANIFEST_DOMAIN, "k1", &h, &sig));
        assert!(!verify(&vk, RECORD_DOMAIN, "k1", &[2u8; 32], &sig));
        let text = encode_public_key(&vk);
        assert_eq!(decode_public_key(text.as_bytes()), Some(vk));
        assert_eq!(decode_public_key(b"ed25519 00\n"), None);
        assert!(Signer::from_seed("../x", &[0; 32]).is_err());
    }
}
