//! Hostile archives: the verifier reads what `tar` reads, in bounded memory.
//!
//! - a trailing gzip member (which `tar xzf` extracts over the verified files)
//!   and data after the end-of-archive block are `trailing_data`;
//! - a gzip bomb (about 1 MB inflating to a 1 GiB entry), a 3 KB archive
//!   declaring a 4 GiB entry, many entries under the entry cap adding up past
//!   the total cap, and a 1 GiB zero padding are `oversized`, and the real
//!   `obspec-trail verify` stays under `PEAK_MEMORY_BOUND` on each (VmHWM
//!   measured in the child) and runs under a 1 GiB address-space limit;
//! - property tests feed random hostile tar entries (any type byte, hostile
//!   names, declared sizes up to 10 GB), random mutations of a genuine archive
//!   (compressed and uncompressed) and random edits of trail lines: no panic,
//!   bounded time, and never a pass unless `tar` would read the same bytes.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use obspec_trail::Date;
use obspec_trail::bundle::{self, INDEX_PATH};
use obspec_trail::canonical::{self, Object, TrailConfig, Value};
use obspec_trail::chain;
use obspec_trail::manifest;
use obspec_trail::sign::Signer;
use obspec_trail::verify::{self, PEAK_MEMORY_BOUND, Report, Tamper, VerifyOptions};
use obspec_trail::writer::{Writer, WriterOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

type Entries = BTreeMap<String, Vec<u8>>;

const T1: &str = "audit/2026/05/01/t1.ndjson";

/// A genuine two-day bundle (entries), built once.
fn genuine() -> &'static Entries {
    static E: OnceLock<Entries> = OnceLock::new();
    E.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
        for day in ["2026-05-01", "2026-05-02"] {
            for i in 0..5 {
                w.append(common::record(&format!("{day}-{i}"), "t1", day)).unwrap();
            }
        }
        w.close().unwrap();
        let signer = Signer::from_seed("k1", &[1; 32]).unwrap();
        for day in ["2026-05-01", "2026-05-02"] {
            manifest::seal_and_store(dir.path(), Date::parse(day).unwrap(), &signer).unwrap();
        }
        let (a, b) = (Date::parse("2026-05-01").unwrap(), Date::parse("2026-05-02").unwrap());
        bundle::bundle_entries(dir.path(), a, b, None).unwrap()
    })
}

fn tar_of(entries: &Entries) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for (p, b) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(b.len() as u64);
        t.append_data(&mut h, p, b.as_slice()).unwrap();
    }
    t.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn tgz(entries: &Entries) -> Vec<u8> {
    let mut out = Vec::new();
    bundle::write_tar_gz(entries, &mut out).unwrap();
    out
}

fn assert_has(r: &Report, kind: Tamper, file: &str) {
    assert!(r.has(kind, file, None), "expected {kind:?} at {file}, got:\n{r}");
}

/// A raw tar header: name, type byte, declared size (base-256 beyond octal), link name.
fn header(name: &[u8], ty: u8, size: u64, link: &[u8]) -> [u8; 512] {
    let mut h = tar::Header::new_gnu();
    let n = name.len().min(100);
    h.as_old_mut().name[..n].copy_from_slice(&name[..n]);
    let l = link.len().min(100);
    h.as_old_mut().linkname[..l].copy_from_slice(&link[..l]);
    h.set_mode(0o644);
    h.set_size(size);
    h.as_old_mut().linkflag = [ty];
    h.set_cksum();
    *h.as_bytes()
}

// ---------------------------------------------------------------------------
// A deflate writer for gzip bombs: stored blocks for headers, and runs of zeros
// as one dynamic-Huffman block where a 258-byte match costs 2 bits (about
// 1:1000, as zlib reaches), written in time proportional to the output.

struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, v: u64, n: u32) {
        self.acc |= v << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code, most significant bit first.
    fn code(&mut self, c: u64, len: u32) {
        for i in (0..len).rev() {
            self.put((c >> i) & 1, 1);
        }
    }
    fn align(&mut self) {
        if self.n > 0 {
            self.put(0, 8 - self.n);
        }
    }
    fn zero_bits(&mut self, mut n: u64) {
        while n > 0 && self.n != 0 {
            self.put(0, 1);
            n -= 1;
        }
        self.out.resize(self.out.len() + (n / 8) as usize, 0);
        self.put(0, (n % 8) as u32);
    }
}

enum Seg<'a> {
    Bytes(&'a [u8]),
    Zeros(u64),
}

fn deflate_bomb(segs: &[Seg<'_>]) -> (Vec<u8>, u32, u64) {
    let mut b = Bits { out: Vec::new(), acc: 0, n: 0 };
    let mut crc = flate2::Crc::new();
    let zeros = vec![0u8; 1 << 20];
    for s in segs {
        match s {
            Seg::Bytes(data) => {
                for chunk in data.chunks(65535) {
                    b.put(0, 1); // not final
                    b.put(0, 2); // stored
                    b.align();
                    let len = chunk.len() as u16;
                    b.out.extend_from_slice(&len.to_le_bytes());
                    b.out.extend_from_slice(&(!len).to_le_bytes());
                    b.out.extend_from_slice(chunk);
                    crc.update(chunk);
                }
            }
            Seg::Zeros(n) => {
                assert!(*n >= 1);
                b.put(0, 1); // not final
                b.put(2, 2); // dynamic Huffman
                b.put(29, 5); // HLIT: 286 codes
                b.put(1, 5); // HDIST: 2 codes
                b.put(14, 4); // HCLEN: 18 code-length codes
                // Code-length code lengths in RFC 1951 order: 18 → 1 bit; 2 and 1 → 2 bits.
                let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
                for sym in order {
                    b.put(
                        match sym {
                            18 => 1,
                            1 | 2 => 2,
                            _ => 0,
                        },
                        3,
                    );
                }
                // Canonical codes: 18 = "0", 1 = "10", 2 = "11".
                let (cl1, cl2, cl18) = ((0b10, 2), (0b11, 2), (0b0, 1));
                // Literal/length lengths: 0 → 2, 1..=255 → 0, 256 → 2, 257..=284 → 0, 285 → 1.
                b.code(cl2.0, cl2.1);
                b.code(cl18.0, cl18.1);
                b.put(138 - 11, 7);
                b.code(cl18.0, cl18.1);
                b.put(117 - 11, 7);
                b.code(cl2.0, cl2.1);
                b.code(cl18.0, cl18.1);
                b.put(28 - 11, 7);
                b.code(cl1.0, cl1.1);
                // Distance lengths: codes 0 and 1 → 1 bit each.
                b.code(cl1.0, cl1.1);
                b.code(cl1.0, cl1.1);
                // Literal 0 = "10", end of block = "11", length 258 = "0"; distance 1 = "0".
                b.code(0b10, 2);
                let rest = n - 1;
                b.zero_bits((rest / 258) * 2);
                for _ in 0..rest % 258 {
                    b.code(0b10, 2);
                }
                b.code(0b11, 2);
                let mut left = *n;
                while left > 0 {
                    let k = left.min(zeros.len() as u64) as usize;
                    crc.update(&zeros[..k]);
                    left -= k as u64;
                }
            }
        }
    }
    // Final empty stored block.
    b.put(1, 1);
    b.put(0, 2);
    b.align();
    b.out.extend_from_slice(&[0, 0, 0xff, 0xff]);
    (b.out, crc.sum(), crc.amount() as u64)
}

fn gzip_bomb(segs: &[Seg<'_>]) -> Vec<u8> {
    let (deflate, crc, len) = deflate_bomb(segs);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&deflate);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out
}

/// Zeros after an entry's data: its padding to 512 and the end-of-archive blocks.
fn pad(size: u64) -> u64 {
    (512 - size % 512) % 512
}

#[test]
fn bomb_writer_produces_what_gzip_decoders_read() {
    // A small bomb must decode, through flate2, to exactly the tar it describes.
    let h = header(b"a.txt", b'0', 1000, b"");
    let bomb = gzip_bomb(&[Seg::Bytes(&h), Seg::Zeros(1000 + pad(1000) + 1024)]);
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bomb.as_slice()), &mut plain).unwrap();
    let mut expect = h.to_vec();
    expect.resize(512 + 1024 + 1024, 0);
    assert_eq!(plain, expect);
}

fn bombs() -> Vec<(&'static str, Vec<u8>)> {
    let gib = 1u64 << 30;
    // 1. One entry declaring and holding 1 GiB of zeros.
    let big = header(T1.as_bytes(), b'0', gib, b"");
    let one = gzip_bomb(&[Seg::Bytes(&big), Seg::Zeros(gib + 1024)]);
    // 2. 3 KB declaring 4 GiB.
    let mut tar4 = header(T1.as_bytes(), b'0', 4 * gib, b"").to_vec();
    let mut x = 0x2545_f491_u32;
    tar4.extend((0..2560).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    let four = gz(&tar4);
    // 3. 64 entries of 16 MiB each (under the entry cap, 1 GiB in total).
    let each = 16u64 << 20;
    let headers: Vec<[u8; 512]> =
        (0..64).map(|i| header(format!("audit/2026/05/01/t{i}.ndjson").as_bytes(), b'0', each, b"")).collect();
    let mut segs = Vec::new();
    for h in &headers {
        segs.push(Seg::Bytes(h));
        segs.push(Seg::Zeros(each));
    }
    segs.push(Seg::Zeros(1024));
    let many = gzip_bomb(&segs);
    // 4. A genuine archive followed, inside the same gzip member, by 1 GiB of zero padding.
    let genuine_tar = tar_of(genuine());
    let padded = gzip_bomb(&[Seg::Bytes(&genuine_tar), Seg::Zeros(gib)]);
    // 5. A GNU long-name header declaring 1 GiB (tar reads it whole before the entry it names).
    let ln = header(b"././@LongLink", b'L', gib, b"");
    let longname = gzip_bomb(&[Seg::Bytes(&ln), Seg::Zeros(gib + 1024)]);
    vec![
        ("1 GiB entry", one),
        ("3 KB declaring 4 GiB", four),
        ("64 x 16 MiB", many),
        ("1 GiB zero padding", padded),
        ("1 GiB long name", longname),
    ]
}

#[test]
fn gzip_bombs_are_oversized_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_obspec-trail");
    let mut figures = Vec::new();
    for (what, bytes) in bombs() {
        assert!(bytes.len() < 3 << 20, "{what}: {} bytes", bytes.len());
        // In process.
        let t = Instant::now();
        let r = verify::verify_bytes(&bytes, &VerifyOptions::default());
        assert!(r.of_kind(Tamper::Oversized).next().is_some(), "{what}:\n{r}");
        assert!(t.elapsed() < Duration::from_secs(20), "{what}: {:?}", t.elapsed());
        // The real binary: peak RSS, and under an address-space limit of 1 GiB.
        let path = dir.path().join("bomb.tar.gz");
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new(bin).arg("verify").arg(&path).env("OBSPEC_TRAIL_PEAK_RSS", "1").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stdout}{stderr}");
        assert!(stdout.contains("FAIL oversized"), "{what}: {stdout}");
        let kib: u64 = stderr
            .lines()
            .find_map(|l| l.strip_prefix("obspec-trail: peak_rss_kib "))
            .unwrap_or_else(|| panic!("no peak RSS in {stderr}"))
            .parse()
            .unwrap();
        assert!(kib * 1024 < PEAK_MEMORY_BOUND, "{what}: peak RSS {kib} KiB");
        let limited = Command::new("bash")
            .arg("-c")
            .arg("ulimit -v 1048576 && exec \"$0\" verify \"$1\"")
            .arg(bin)
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(limited.status.code(), Some(2), "{what} under ulimit -v 1 GiB: {limited:?}");
        figures.push(format!("{what}: {} bytes compressed, peak RSS {kib} KiB", bytes.len()));
    }
    eprintln!("gzip bombs (bound {} MiB):\n  {}", PEAK_MEMORY_BOUND >> 20, figures.join("\n  "));
}

#[test]
fn trailing_gzip_member_is_rejected_although_tar_extracts_it() {
    let e = genuine();
    let mut line = e[T1].clone();
    let at = line.windows(5).position(|w| w == b"allow").unwrap();
    line[at..at + 5].copy_from_slice(b"deny!");
    // The first member holds the genuine archive without its end-of-archive
    // blocks, so a tar reader carries on into the second member.
    let mut first = tar_of(e);
    first.truncate(first.len() - 1024);
    let mut bytes = gz(&first);
    let mut second = Entries::new();
    second.insert(T1.to_owned(), line.clone());
    bytes.extend(tgz(&second));
    let r = verify::verify_bytes(&bytes, &VerifyOptions::default());
    assert_has(&r, Tamper::TrailingData, "(archive)");
    assert!(r.failures.iter().any(|f| f.detail.contains("second gzip member")), "{r}");
    // Why: GNU tar decompresses every member and extracts the second T1 over the first.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.tar.gz");
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("tar").arg("-xzf").arg(&path).arg("-C").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(dir.path().join(T1)).unwrap(), line, "tar extracted the unverified member");
    // Any other byte after the member, and non-zero data after the end-of-archive block.
    let mut junk = tgz(e);
    junk.push(0);
    assert_has(&verify::verify_bytes(&junk, &VerifyOptions::default()), Tamper::TrailingData, "(archive)");
    let mut tail = tar_of(e);
    tail.extend_from_slice(&header(b"audit/2026/05/01/t9.ndjson", b'0', 3, b""));
    tail.extend_from_slice(b"{}\n");
    tail.resize(tail.len() + 509 + 1024, 0);
    assert_has(&verify::verify_bytes(&gz(&tail), &VerifyOptions::default()), Tamper::TrailingData, "(archive)");
    // The genuine archive passes the same reader.
    assert!(verify::verify_bytes(&tgz(e), &VerifyOptions::default()).is_ok());
}

#[test]
fn extension_headers_are_rejected() {
    let e = genuine();
    for ty in [b'x', b'g', b'L', b'K', b'S'] {
        let mut t = header(b"PaxHeaders/x", ty, 30, b"").to_vec();
        t.extend_from_slice(b"30 path=manifests/x/y/z.json\n");
        t.resize(1024, 0);
        t.extend(tar_of(e));
        let r = verify::verify_bytes(&gz(&t), &VerifyOptions::default());
        assert!(r.of_kind(Tamper::SpecialEntry).next().is_some(), "type {}: {r}", ty as char);
    }
}

/// Found by the property test: a directory declaring data swallows the next
/// header for a reader that skips it (this verifier's tar crate), not for one
/// that ignores a directory's size, so the two would read different entries.
#[test]
fn a_directory_with_data_is_rejected() {
    let mut t = tar_of(genuine());
    t.truncate(t.len() - 1024);
    t.extend_from_slice(&header(b"dir/", b'5', 1025, b""));
    t.extend_from_slice(&header(b"../x", b'x', 0, b""));
    t.resize(t.len() + 1024, 0);
    let r = verify::verify_bytes(&gz(&t), &VerifyOptions::default());
    assert!(r.of_kind(Tamper::SpecialEntry).any(|f| f.detail.contains("directory")), "{r}");
    // An empty directory entry stays harmless.
    let mut t = tar_of(genuine());
    t.truncate(t.len() - 1024);
    t.extend_from_slice(&header(b"dir/", b'5', 0, b""));
    t.resize(t.len() + 1024, 0);
    assert!(verify::verify_bytes(&gz(&t), &VerifyOptions::default()).is_ok());
}

// ---------------------------------------------------------------------------
// Property tests, with their case counts printed.

fn hostile_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"../x".to_vec()),
        Just(b"/etc/passwd".to_vec()),
        Just(b"audit/../../x".to_vec()),
        Just(b"manifest.json".to_vec()),
        Just(T1.as_bytes().to_vec()),
        Just(b"keys/k1.pub".to_vec()),
        Just(b"a/./b".to_vec()),
        Just(b"a//b".to_vec()),
        Just(b"dir/".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        prop::collection::vec(any::<u8>(), 0..100),
    ]
}

fn hostile_entry() -> impl Strategy<Value = (Vec<u8>, u8, u64, Vec<u8>, usize)> {
    (
        hostile_name(),
        prop_oneof![Just(b'0'), Just(b'2'), Just(b'1'), Just(b'5'), Just(b'x'), Just(b'L'), any::<u8>()],
        prop_oneof![0u64..2048, 0u64..(64 << 20), 0u64..10_000_000_000],
        prop::collection::vec(any::<u8>(), 0..20),
        0usize..2048,
    )
}

#[test]
fn property_hostile_tar_entries() {
    let cases = 384;
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let ran = std::cell::Cell::new(0u32);
    let strategy = (prop::collection::vec(hostile_entry(), 1..6), any::<bool>());
    runner
        .run(&strategy, |(list, with_genuine)| {
            ran.set(ran.get() + 1);
            let mut t = if with_genuine { tar_of(genuine()) } else { Vec::new() };
            if with_genuine {
                t.truncate(t.len() - 1024); // drop the end-of-archive blocks
            }
            for (name, ty, size, link, data_len) in &list {
                t.extend_from_slice(&header(name, *ty, *size, link));
                let n = (*data_len as u64).min(*size) as usize;
                t.extend(std::iter::repeat_n(b'{', n));
                t.resize(t.len() + pad(n as u64) as usize, 0);
            }
            t.resize(t.len() + 1024, 0);
            let start = Instant::now();
            let r = verify::verify_bytes(&gz(&t), &VerifyOptions::default());
            prop_assert!(start.elapsed() < Duration::from_secs(5));
            // Empty directory entries are the one harmless kind; anything else must fail.
            if !list.iter().all(|(_, ty, size, ..)| *ty == b'5' && *size == 0) {
                prop_assert!(!r.is_ok(), "a hostile archive passed:\n{}", r);
            }
            let (_, _, first_size, _, _) = &list[0];
            if !with_genuine && *first_size > verify::DEFAULT_MAX_ENTRY_BYTES {
                prop_assert!(r.of_kind(Tamper::Oversized).next().is_some(), "{}", r);
            }
            Ok(())
        })
        .unwrap();
    eprintln!("property_hostile_tar_entries: {} cases", ran.get());
    assert!(ran.get() >= cases);
}

/// The entries `tar` reads from a `.tar.gz` (all gzip members, stopping at the end block), or `None`.
fn what_tar_reads(tgz: &[u8]) -> Option<Entries> {
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(tgz), &mut plain).ok()?;
    let mut out = Entries::new();
    let mut ar = tar::Archive::new(plain.as_slice());
    for e in ar.entries().ok()? {
        let mut e = e.ok()?;
        let name = String::from_utf8(e.path_bytes().into_owned()).ok()?;
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut b).ok()?;
        out.insert(name, b);
    }
    Some(out)
}

#[test]
fn property_mutated_archives() {
    let cases = 384;
    let genuine_tar = tar_of(genuine());
    let genuine_tgz = gz(&genuine_tar);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let ran = std::cell::Cell::new(0u32);
    let strategy = (
        any::<bool>(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
        any::<prop::sample::Index>(),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(compressed, edits, cut, do_cut)| {
            ran.set(ran.get() + 1);
            let mut b = if compressed { genuine_tgz.clone() } else { genuine_tar.clone() };
            for (at, byte, op) in &edits {
                let i = at.index(b.len());
                match op {
                    0 => b[i] ^= byte | 1,
                    1 => b.insert(i, *byte),
                    _ => {
                        b.remove(i);
                    }
                }
            }
            if do_cut {
                b.truncate(cut.index(b.len()));
            }
            let bytes = if compressed { b } else { gz(&b) };
            let r = verify::verify_bytes(&bytes, &VerifyOptions::default());
            // A pass is only allowed when tar reads exactly the genuine entries (say, an edit in padding).
            if r.is_ok() {
                let read = what_tar_reads(&bytes);
                prop_assert_eq!(read.as_ref(), Some(genuine()), "passed:\n{}", r);
            }
            Ok(())
        })
        .unwrap();
    eprintln!("property_mutated_archives: {} cases", ran.get());
    assert!(ran.get() >= cases);
}

/// Recomputes the index's entry list (the attacker is competent).
fn fix_index(entries: &mut Entries) {
    let mut index = match canonical::parse(entries[INDEX_PATH].strip_suffix(b"\n").unwrap()).unwrap() {
        Value::Object(o) => o,
        _ => unreachable!(),
    };
    let listed = entries
        .iter()
        .filter(|(p, _)| p.as_str() != INDEX_PATH)
        .map(|(p, b)| {
            Value::Object(
                Object::new()
                    .with("path", p.as_str())
                    .with("bytes", b.len() as i64)
                    .with("blake3", blake3::hash(b).to_hex().as_str()),
            )
        })
        .collect();
    index.insert("entries", Value::Array(listed));
    let mut bytes = canonical::to_jcs(&Value::Object(index), 8).unwrap();
    bytes.push(b'\n');
    entries.insert(INDEX_PATH.to_owned(), bytes);
}

#[test]
fn property_trail_lines() {
    let cases = 512;
    let cfg = TrailConfig::blueprint_default();
    let lines: Vec<Vec<u8>> =
        genuine()[T1].split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect();
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let ran = std::cell::Cell::new(0u32);
    let edit = (0u8..7, any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>(), ".{0,40}");
    runner
        .run(&(prop::collection::vec(edit, 1..4), prop::collection::vec(any::<u8>(), 0..300)), |(edits, noise)| {
            ran.set(ran.get() + 1);
            // Raw bytes through the line parser: an error, never a panic.
            let _ = chain::inspect_line(&cfg, &noise);
            let mut ls = lines.clone();
            for (op, a, b, byte, text) in &edits {
                if ls.is_empty() {
                    ls.push(Vec::new());
                }
                let i = a.index(ls.len());
                match op {
                    0 => {
                        ls.remove(i);
                    }
                    1 => ls.insert(i, ls[i].clone()),
                    2 => {
                        let j = b.index(ls.len());
                        ls.swap(i, j);
                    }
                    3 => {
                        let j = b.index(ls[i].len().max(1));
                        if let Some(c) = ls[i].get_mut(j) {
                            *c ^= byte | 1;
                        }
                    }
                    4 => ls.insert(i, text.as_bytes().to_vec()),
                    5 => {
                        let j = b.index(ls[i].len().max(1));
                        ls[i].truncate(j);
                    }
                    _ => ls[i].extend_from_slice(text.as_bytes()),
                }
            }
            let mut file: Vec<u8> = ls.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
            if edits.iter().any(|(op, ..)| *op == 5) && file.last() == Some(&b'\n') && edits.len() > 2 {
                file.pop(); // sometimes a torn last line
            }
            let mut e = genuine().clone();
            let changed = file != e[T1];
            e.insert(T1.to_owned(), file);
            fix_index(&mut e);
            let start = Instant::now();
            let r = verify::verify_bytes(&tgz(&e), &VerifyOptions::default());
            prop_assert!(start.elapsed() < Duration::from_secs(5));
            prop_assert_eq!(r.is_ok(), !changed, "{}", r);
            Ok(())
        })
        .unwrap();
    eprintln!("property_trail_lines: {} cases", ran.get());
    assert!(ran.get() >= cases);
}
