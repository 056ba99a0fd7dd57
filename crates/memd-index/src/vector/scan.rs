//! The exact scan: a SIMD-friendly dot product over contiguous rows, filter checked before the
//! dot product, top-k kept in a bounded min-heap, optionally split over two threads.
//!
//! On x86-64 the scan loop is compiled twice: once for the baseline target and once with AVX2 +
//! FMA enabled, chosen at run time, so one binary runs everywhere and uses 8-wide lanes where the
//! CPU has them.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use uuid::Uuid;

use super::tenant::{RowFilter, TenantVectors};

/// Independent accumulators per dot product; 16 lanes lets LLVM keep two 8-wide (or four
/// 4-wide) registers busy without a dependency chain.
const LANES: usize = 16;

/// One candidate: higher `score` first, then smaller `id` (so results are deterministic).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scored {
    pub score: f32,
    pub id: Uuid,
}

impl Eq for Scored {}

impl Ord for Scored {
    /// `Greater` means "better".
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then_with(|| other.id.cmp(&self.id))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Dot product of two equal-length slices (extra values of the longer one are ignored).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Keeps the best `k` candidates seen.
struct TopK {
    k: usize,
    heap: BinaryHeap<Reverse<Scored>>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self { k, heap: BinaryHeap::with_capacity(k + 1) }
    }

    #[inline(always)]
    fn offer(&mut self, s: Scored) {
        if self.heap.len() < self.k {
            self.heap.push(Reverse(s));
        } else if self.heap.peek().is_some_and(|w| s > w.0) {
            self.heap.pop();
            self.heap.push(Reverse(s));
        }
    }

    fn into_vec(self) -> Vec<Scored> {
        self.heap.into_iter().map(|r| r.0).collect()
    }
}

/// Scans rows `rows` of `t`.
#[inline(always)]
fn scan_rows(
    t: &TenantVectors,
    q: &[f32],
    f: &RowFilter,
    k: usize,
    rows: std::ops::Range<usize>,
) -> Vec<Scored> {
    let dim = t.dim();
    let data = t.data();
    let mut top = TopK::new(k);
    let trivial = f.is_trivial();
    for row in rows {
        if !trivial && !t.accepts(row, f) {
            continue;
        }
        let score = dot(q, &data[row * dim..(row + 1) * dim]);
        if top.heap.len() < k || top.heap.peek().is_some_and(|w| score >= w.0.score) {
            top.offer(Scored { score, id: t.id(row) });
        }
    }
    top.into_vec()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn scan_rows_avx2(
    t: &TenantVectors,
    q: &[f32],
    f: &RowFilter,
    k: usize,
    rows: std::ops::Range<usize>,
) -> Vec<Scored> {
    scan_rows(t, q, f, k, rows)
}

/// Scans `rows` with the best instruction set the CPU offers.
fn scan_dispatch(
    t: &TenantVectors,
    q: &[f32],
    f: &RowFilter,
    k: usize,
    rows: std::ops::Range<usize>,
) -> Vec<Scored> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above), which is the only
        // requirement `scan_rows_avx2` adds to the safe `scan_rows`.
        return unsafe { scan_rows_avx2(t, q, f, k, rows) };
    }
    scan_rows(t, q, f, k, rows)
}

/// A way to find a tenant's best `k` rows for a query: the exact scan, or the HNSW graph kept
/// beside the rows ([`super::ann::HnswSearch`]) for tenants above a size threshold.
pub(crate) trait RowSearch: Send + Sync {
    /// The best `k` rows of `t` passing `f`, best first.
    fn top_k(&self, t: &TenantVectors, q: &[f32], f: &RowFilter, k: usize) -> Vec<Scored>;
}

/// Brute force over every row, split over `threads` threads at or above `parallel_rows` rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExactScan {
    pub parallel_rows: usize,
    pub threads: usize,
}

impl RowSearch for ExactScan {
    fn top_k(&self, t: &TenantVectors, q: &[f32], f: &RowFilter, k: usize) -> Vec<Scored> {
        let n = t.len();
        if k == 0 || n == 0 {
            return Vec::new();
        }
        let threads = self.threads.max(1);
        let mut all = if threads == 1 || n < self.parallel_rows {
            scan_dispatch(t, q, f, k, 0..n)
        } else {
            let chunk = n.div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|i| {
                        let rows = (i * chunk).min(n)..((i + 1) * chunk).min(n);
                        s.spawn(move || scan_dispatch(t, q, f, k, rows))
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(k);
        all
    }
}
