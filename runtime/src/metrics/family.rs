//! Handle caches for the generated emitters.
//!
//! A metric's closed labels (Rust enums) map to an index into a fixed array of
//! lazily registered handles, so the hot path is a bounds check, one acquire
//! load and the handle's atomic add. Open labels (`&str`) select a [`Row`] of
//! such an array through a lock-free open-addressing table; each open label
//! admits at most `max_values` distinct values, and later values fold into
//! [`OTHER`], counted by `obspec_label_overflow_total{metric,label}`.
//!
//! Rows live for the whole process (they are leaked): their number is bounded
//! by the product of the open labels' bounds (plus `other`), which the spec's
//! cardinality budget already limits.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use ::metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata};

/// The value an open label takes past its `max_values` bound.
pub const OTHER: &str = "other";

static METADATA: Metadata<'static> = Metadata::new("obspec", Level::INFO, Some(module_path!()));

/// A metric handle the families cache: registered once against the installed
/// `metrics` recorder.
pub trait Handle: Send + Sync + Sized + 'static {
    /// Registers the series `key` with the current recorder.
    fn register(key: &Key) -> Self;
}

impl Handle for Counter {
    fn register(key: &Key) -> Self {
        ::metrics::with_recorder(|r| r.register_counter(key, &METADATA))
    }
}

impl Handle for Gauge {
    fn register(key: &Key) -> Self {
        ::metrics::with_recorder(|r| r.register_gauge(key, &METADATA))
    }
}

impl Handle for Histogram {
    fn register(key: &Key) -> Self {
        ::metrics::with_recorder(|r| r.register_histogram(key, &METADATA))
    }
}

/// The handles of a metric without open labels: one per combination of its
/// closed labels, registered on first use.
#[derive(Debug)]
pub struct ClosedFamily<H, const N: usize> {
    name: &'static str,
    cells: [OnceLock<H>; N],
    /// Returned for an index out of range (generated code never asks for one).
    spare: OnceLock<H>,
}

impl<H: Handle, const N: usize> ClosedFamily<H, N> {
    /// An empty family for metric `name` with `N` label combinations.
    pub const fn new(name: &'static str) -> Self {
        Self { name, cells: [const { OnceLock::new() }; N], spare: OnceLock::new() }
    }

    /// The handle of combination `index`; `labels` gives its labels, in spec
    /// order, the first time only.
    #[inline]
    pub fn get(&self, index: usize, labels: impl FnOnce() -> Vec<Label>) -> &H {
        let cell = self.cells.get(index).unwrap_or(&self.spare);
        cell.get_or_init(|| H::register(&Key::from_parts(self.name, labels())))
    }
}

/// An open label of a metric and its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenLabel {
    /// Label name.
    pub name: &'static str,
    /// Distinct values kept before folding into [`OTHER`].
    pub max_values: u64,
}

/// The handles of one combination of open-label values.
#[derive(Debug)]
pub struct Row<H> {
    name: &'static str,
    hash: u64,
    values: Box<[Box<str>]>,
    cells: Box<[OnceLock<H>]>,
    spare: OnceLock<H>,
}

impl<H: Handle> Row<H> {
    /// The open-label values of this row (after folding), in the order of the family's open labels.
    pub fn values(&self) -> &[Box<str>] {
        &self.values
    }

    /// The handle of closed-label combination `index`; `labels` receives the
    /// row's open values and returns every label in spec order, the first time only.
    #[inline]
    pub fn get(&self, index: usize, labels: impl FnOnce(&[Box<str>]) -> Vec<Label>) -> &H {
        let cell = self.cells.get(index).unwrap_or(&self.spare);
        cell.get_or_init(|| H::register(&Key::from_parts(self.name, labels(&self.values))))
    }

    fn matches(&self, hash: u64, values: &[&str]) -> bool {
        self.hash == hash
            && self.values.len() == values.len()
            && self.values.iter().zip(values).all(|(a, b)| **a == **b)
    }
}

#[derive(Debug)]
struct Admitted {
    /// Values admitted so far, per open label.
    sets: Vec<HashSet<Box<str>>>,
    rows: usize,
}

#[derive(Debug)]
struct Inner<H: 'static> {
    hasher: foldhash::fast::RandomState,
    /// Open addressing, linear probing; slots are written once, under `admitted`.
    table: Box<[OnceLock<&'static Row<H>>]>,
    admitted: Mutex<Admitted>,
    /// Set when the only open label has admitted `max_values` values: a miss
    /// then goes straight to the `other` row without taking the lock.
    full: AtomicBool,
    other: OnceLock<&'static Row<H>>,
    overflow: Box<[OnceLock<Counter>]>,
}

/// The handles of a metric with open labels: rows of closed-label handles,
/// selected by the open labels' values.
#[derive(Debug)]
pub struct OpenFamily<H: 'static> {
    name: &'static str,
    open: &'static [OpenLabel],
    cells: usize,
    inner: OnceLock<Inner<H>>,
}

impl<H: Handle> OpenFamily<H> {
    /// An empty family for metric `name` whose open labels are `open` (in
    /// the order `row` receives their values) and with `cells` closed-label
    /// combinations per row.
    pub const fn new(name: &'static str, open: &'static [OpenLabel], cells: usize) -> Self {
        Self { name, open, cells, inner: OnceLock::new() }
    }

    fn max_rows(&self) -> usize {
        self.open.iter().fold(1usize, |acc, l| {
            acc.saturating_mul(usize::try_from(l.max_values).unwrap_or(usize::MAX).saturating_add(1))
        })
    }

    fn inner(&self) -> &Inner<H> {
        self.inner.get_or_init(|| {
            let slots = self.max_rows().saturating_mul(2).clamp(16, 1 << 20).next_power_of_two();
            Inner {
                hasher: foldhash::fast::RandomState::default(),
                table: (0..slots).map(|_| OnceLock::new()).collect(),
                admitted: Mutex::new(Admitted { sets: self.open.iter().map(|_| HashSet::new()).collect(), rows: 0 }),
                full: AtomicBool::new(false),
                other: OnceLock::new(),
                overflow: self.open.iter().map(|_| OnceLock::new()).collect(),
            }
        })
    }

    fn hash(inner: &Inner<H>, values: &[&str]) -> u64 {
        let mut h = inner.hasher.build_hasher();
        for v in values {
            h.write(v.as_bytes());
            h.write_u8(0xff);
        }
        h.finish()
    }

    fn lookup(inner: &Inner<H>, hash: u64, values: &[&str]) -> Option<&'static Row<H>> {
        let mask = inner.table.len() - 1;
        let mut i = (hash as usize) & mask;
        for _ in 0..inner.table.len() {
            let row: &'static Row<H> = inner.table.get(i)?.get()?;
            if row.matches(hash, values) {
                return Some(row);
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// The row for these open-label values (one per open label, in order).
    /// Values past a label's bound fold into [`OTHER`].
    #[inline]
    pub fn row(&self, values: &[&str]) -> &'static Row<H> {
        let inner = self.inner();
        let hash = Self::hash(inner, values);
        if let Some(row) = Self::lookup(inner, hash, values) {
            return row;
        }
        if inner.full.load(Ordering::Acquire)
            && let Some(other) = inner.other.get()
        {
            self.count_overflow(inner, 0);
            return other;
        }
        self.slow_row(inner, hash, values)
    }

    fn count_overflow(&self, inner: &Inner<H>, label: usize) {
        let (Some(cell), Some(l)) = (inner.overflow.get(label), self.open.get(label)) else { return };
        let Some(m) = crate::metrics::self_metrics() else { return };
        cell.get_or_init(|| Counter::register(&m.label_overflow.key(&[self.name, l.name]))).increment(1);
    }

    #[cold]
    fn slow_row(&self, inner: &Inner<H>, hash: u64, values: &[&str]) -> &'static Row<H> {
        let mut adm = inner.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(row) = Self::lookup(inner, hash, values) {
            return row;
        }
        let mut folded: Vec<&str> = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let max = self.open.get(i).map_or(0, |l| usize::try_from(l.max_values).unwrap_or(usize::MAX));
            let Some(set) = adm.sets.get_mut(i) else {
                folded.push(OTHER);
                continue;
            };
            if set.contains(*v) || set.len() < max {
                set.insert((*v).into());
                folded.push(v);
            } else {
                folded.push(OTHER);
                self.count_overflow(inner, i);
            }
        }
        if self.open.len() == 1 && adm.sets.first().is_some_and(|s| s.len() >= self.max_rows() - 1) {
            inner.full.store(true, Ordering::Release);
        }
        let fhash = Self::hash(inner, &folded);
        if let Some(row) = Self::lookup(inner, fhash, &folded) {
            return row;
        }
        let row: &'static Row<H> = Box::leak(Box::new(Row {
            name: self.name,
            hash: fhash,
            values: folded.iter().map(|v| Box::<str>::from(*v)).collect(),
            cells: (0..self.cells).map(|_| OnceLock::new()).collect(),
            spare: OnceLock::new(),
        }));
        if folded.iter().all(|v| *v == OTHER) {
            let _ = inner.other.set(row);
        }
        // Past the table's capacity the row still works; it is just not cached.
        if adm.rows < inner.table.len() / 2 {
            let mask = inner.table.len() - 1;
            let mut i = (fhash as usize) & mask;
            while let Some(slot) = inner.table.get(i) {
                if slot.set(row).is_ok() {
                    adm.rows += 1;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        row
    }
}

/// The label for open label `key` from a row's values (used by generated code).
pub fn open_label(key: &'static str, values: &[Box<str>], i: usize) -> Label {
    Label::new(key, values.get(i).map_or_else(|| OTHER.to_owned(), |v| v.to_string()))
}
