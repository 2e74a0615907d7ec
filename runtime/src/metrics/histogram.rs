//! [`BucketHistogram`]: a fixed-bucket histogram that records with two atomic
//! operations (one bucket increment, one sum update) and no lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// A histogram with bucket bounds fixed at creation (from the spec).
///
/// Buckets are stored non-cumulatively (the bucket a value falls in is the only
/// one touched); [`BucketHistogram::snapshot`] makes them cumulative, and the
/// count is the sum of the buckets, so `_count` always equals the `+Inf` bucket.
#[derive(Debug)]
pub struct BucketHistogram {
    bounds: &'static [f64],
    /// One per bound, plus the `+Inf` bucket.
    counts: Box<[AtomicU64]>,
    /// `f64` bits.
    sum: AtomicU64,
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
        Self { bounds, counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(), sum: AtomicU64::new(0) }
    }

    /// The bucket bounds.
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
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
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let mut cur = self.sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + v).to_bits();
            match self.sum.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Cumulative buckets, sum and count.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut acc = 0u64;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (i, c) in self.counts.iter().enumerate() {
            acc += c.load(Ordering::Relaxed);
            if let Some(&b) = self.bounds.get(i) {
                buckets.push((b, acc));
            }
        }
        HistogramSnapshot { buckets, sum: f64::from_bits(self.sum.load(Ordering::Relaxed)), count: acc }
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
}
