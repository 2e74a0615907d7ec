//! [`BucketHistogram`]: a fixed-bucket histogram sharded per thread, so
//! contending threads never share a cache line or retry a compare-and-swap.
//!
//! Each histogram holds [`shards()`] shards; a shard is its buckets and its
//! `_sum`, alone on whole 128-byte lines (two cache lines, so the adjacent-line
//! prefetcher does not pair neighbours either). A thread picks its shard once
//! (round robin, a thread-local index), so two threads recording into the same
//! series touch different lines: the bucket increment is an uncontended
//! `fetch_add` and the sum's compare-and-swap succeeds first time. A scrape
//! ([`BucketHistogram::snapshot`]) adds the shards up.
//!
//! Memory per series: `shards() × ceil((buckets + 2) / 16) × 128` bytes, i.e.
//! 512 B for a 12-bucket histogram on a 2-core machine (4 shards) and at most
//! 2 KiB (16 shards, on 8 cores or more).

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// `u64` words per 128-byte line.
const WORDS: usize = 16;

/// Most shards a histogram has, whatever the core count.
const MAX_SHARDS: usize = 16;

/// One 128-byte-aligned group of counters.
#[derive(Debug)]
#[repr(align(128))]
struct Line([AtomicU64; WORDS]);

impl Line {
    const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; WORDS])
    }
}

/// Shards per histogram: twice the available cores, rounded up to a power of
/// two, between 2 and 16 (threads outnumbering cores still mostly get a shard
/// of their own). Fixed for the process on first use.
pub fn shards() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        cores.saturating_mul(2).next_power_of_two().clamp(2, MAX_SHARDS)
    })
}

static NEXT_SHARD: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// This thread's shard number (any value; reduced modulo the shard count).
    static SHARD: Cell<u32> = const { Cell::new(u32::MAX) };
}

/// This thread's shard number, assigned round robin on first use.
#[inline]
fn shard_id() -> usize {
    SHARD.with(|s| {
        let mut id = s.get();
        if id == u32::MAX {
            id = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) & (u32::MAX >> 1);
            s.set(id);
        }
        id as usize
    })
}

/// A histogram with bucket bounds fixed at creation (from the spec).
///
/// Buckets are stored non-cumulatively (the bucket a value falls in is the only
/// one touched); [`BucketHistogram::snapshot`] makes them cumulative, and the
/// count is the sum of the buckets, so `_count` always equals the `+Inf` bucket.
#[derive(Debug)]
pub struct BucketHistogram {
    bounds: &'static [f64],
    /// `shards` shards of `stride` lines; in a shard, word `i` counts bucket
    /// `i` (`bounds.len()` is `+Inf`) and word `bounds.len() + 1` holds the sum's `f64` bits.
    lines: Box<[Line]>,
    /// Lines per shard.
    stride: usize,
    /// `shards - 1` (the shard count is a power of two).
    mask: usize,
}

/// A point-in-time copy of a histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound, cumulative count)` per bucket, without `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    /// Sum of the recorded values.
    pub sum: f64,
    /// Number of recorded values (the `+Inf` bucket).
    pub count: u64,
}

impl BucketHistogram {
    /// A histogram with these ascending upper bounds.
    pub fn new(bounds: &'static [f64]) -> Self {
        let n = shards();
        let stride = (bounds.len() + 2).div_ceil(WORDS);
        Self { bounds, lines: (0..n * stride).map(|_| Line::new()).collect(), stride, mask: n - 1 }
    }

    /// The bucket bounds.
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// Bytes of counters this histogram holds (all shards).
    pub fn footprint(&self) -> usize {
        std::mem::size_of_val(&*self.lines)
    }

    /// Word `i` of shard `shard`.
    #[inline]
    fn word(&self, shard: usize, i: usize) -> Option<&AtomicU64> {
        self.lines.get(shard * self.stride + i / WORDS).map(|l| &l.0[i % WORDS])
    }

    /// Records one value. NaN is ignored (it would poison `_sum`).
    #[inline]
    pub fn observe(&self, v: f64) {
        if v.is_nan() {
            return;
        }
        // Spec histograms have about a dozen buckets: a linear scan beats a
        // binary search at that size and most values land in the first few.
        let i = self.bounds.iter().position(|&b| v <= b).unwrap_or(self.bounds.len());
        let shard = shard_id() & self.mask;
        if let Some(c) = self.word(shard, i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let Some(sum) = self.word(shard, self.bounds.len() + 1) else { return };
        // Only this thread (and the rare thread sharing its shard) writes this
        // word, so the exchange succeeds first time; a loop guards the sharing case.
        let mut cur = sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + v).to_bits();
            match sum.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Cumulative buckets, sum and count, merged over the shards.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let shards = self.mask + 1;
        let n = self.bounds.len();
        let mut acc = 0u64;
        let mut buckets = Vec::with_capacity(n);
        for i in 0..=n {
            acc += (0..shards).filter_map(|s| self.word(s, i)).map(|c| c.load(Ordering::Relaxed)).sum::<u64>();
            if let Some(&b) = self.bounds.get(i) {
                buckets.push((b, acc));
            }
        }
        // Shards that never recorded are skipped, so a single-shard history
        // reads back exactly (bit for bit, `-0.0` included).
        let sum = (0..shards)
            .filter_map(|s| self.word(s, n + 1))
            .map(|w| w.load(Ordering::Relaxed))
            .filter(|&bits| bits != 0)
            .map(f64::from_bits)
            .reduce(|a, b| a + b)
            .unwrap_or(0.0);
        HistogramSnapshot { buckets, sum, count: acc }
    }
}

impl ::metrics::HistogramFn for BucketHistogram {
    #[inline]
    fn record(&self, value: f64) {
        self.observe(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_count_is_inf() {
        static B: &[f64] = &[0.1, 0.5, 1.0];
        let h = BucketHistogram::new(B);
        for v in [0.05, 0.1, 0.3, 2.0, f64::NAN] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.buckets, vec![(0.1, 2), (0.5, 3), (1.0, 3)]);
        assert_eq!(s.count, 4);
        assert!((s.sum - 2.45).abs() < 1e-9);
    }

    #[test]
    fn shards_from_many_threads_merge_exactly() {
        static B: &[f64] = &[1.0, 2.0, 4.0];
        let h = BucketHistogram::new(B);
        // More threads than shards, so some share one: nothing may be lost.
        let threads = shards() * 2 + 1;
        std::thread::scope(|s| {
            for t in 0..threads {
                let h = &h;
                s.spawn(move || {
                    for k in 0..1000u32 {
                        // Integers and halves: every partial sum is exact in f64.
                        h.observe(f64::from((k + t as u32) % 8) / 2.0);
                    }
                });
            }
        });
        let s = h.snapshot();
        let mut want_sum = 0.0;
        let mut want = [0u64; 4];
        for t in 0..threads {
            for k in 0..1000u32 {
                let v = f64::from((k + t as u32) % 8) / 2.0;
                want_sum += v;
                want[B.iter().position(|&b| v <= b).unwrap_or(B.len())] += 1;
            }
        }
        let mut cumulative = [0u64; 4];
        let mut acc = 0;
        for (c, n) in cumulative.iter_mut().zip(want) {
            acc += n;
            *c = acc;
        }
        assert_eq!(s.buckets, vec![(1.0, cumulative[0]), (2.0, cumulative[1]), (4.0, cumulative[2])]);
        assert_eq!(s.count, cumulative[3]);
        assert_eq!(s.count, 1000 * threads as u64);
        assert_eq!(s.sum, want_sum);
    }

    #[test]
    fn shards_do_not_share_lines_and_memory_is_bounded() {
        static B: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0];
        let h = BucketHistogram::new(B);
        assert!(shards().is_power_of_two() && (2..=MAX_SHARDS).contains(&shards()));
        assert_eq!(std::mem::align_of::<Line>(), 128);
        assert_eq!(h.footprint(), shards() * 128);
        let a = h.word(0, 0).map(|w| w as *const AtomicU64 as usize);
        let b = h.word(1, 0).map(|w| w as *const AtomicU64 as usize);
        assert_eq!(b.zip(a).map(|(b, a)| b - a), Some(128));
    }

    #[test]
    fn empty_histogram_reads_zero() {
        static B: &[f64] = &[1.0];
        let s = BucketHistogram::new(B).snapshot();
        assert_eq!((s.buckets, s.count, s.sum.to_bits()), (vec![(1.0, 0)], 0, 0.0f64.to_bits()));
    }
}
