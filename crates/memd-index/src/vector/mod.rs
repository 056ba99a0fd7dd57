//! The in-memory dense vector index: per tenant a flat row-major `Vec<f32>` with parallel arrays
//! of filter data, searched by an exact SIMD-friendly scan (see [`scan`]).
//!
//! Vectors are L2-normalised on insert and queries on search, so the dot product is the cosine
//! similarity. The dimension is fixed by the first insert after creation or [`VectorIndex::clear`];
//! a vector or query of another length is [`IndexError::Invalid`].
//!
//! Tenants with more than [`VectorConfig::hnsw_threshold`] rows are also indexed by an HNSW graph
//! ([`ann`]) built and kept up to date by a background worker ([`maintain`]); their searches use
//! it (with the exact scan as fallback for selective filters), smaller tenants are scanned exactly.
//! Writes are visible to the next search in both cases.
//!
//! Locking: one `RwLock` over the tenant map (write-locked only to add a tenant or clear) and one
//! `RwLock` per tenant, so tenants never wait on each other's writes. Graph builds hold no lock.

mod ann;
mod maintain;
mod scan;
mod tenant;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use memd_store::{Filter, Memory, TenantId};
use parking_lot::RwLock;
use uuid::Uuid;

use self::ann::HnswSearch;
use self::maintain::Maintainer;
use self::scan::{ExactScan, RowSearch};
use self::tenant::TenantVectors;
use crate::{Hit, IndexError, VectorIndex};

pub use self::ann::HnswParams;
pub use self::scan::dot as dot_product;

/// Tuning of the exact scan and of the approximate search of large tenants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorConfig {
    /// Tenants with at least this many rows are scanned by `scan_threads` threads.
    pub parallel_rows: usize,
    /// Threads for one large scan (1 disables splitting); also the threads of a graph build.
    pub scan_threads: usize,
    /// Tenants with more than this many rows get an HNSW graph; `usize::MAX` disables HNSW.
    pub hnsw_threshold: usize,
    pub hnsw: HnswParams,
}

impl Default for VectorConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            parallel_rows: 32_768,
            scan_threads: cores.min(4),
            hnsw_threshold: 20_000,
            hnsw: HnswParams::default(),
        }
    }
}

/// The state of one tenant's graph (for tests, metrics and benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HnswStats {
    /// Nodes in the graph, including tombstones.
    pub graph_nodes: usize,
    /// Rows added or re-embedded since the build, not yet in the graph (searched exactly).
    pub pending: usize,
    /// Graph nodes whose rows were removed or re-embedded.
    pub dead: usize,
}

type Shared = Arc<RwLock<TenantVectors>>;

/// The in-memory vector index (exact scan, HNSW for large tenants).
pub struct FlatVectorIndex {
    tenants: RwLock<HashMap<TenantId, Shared>>,
    /// 0 until the first insert fixes it.
    dim: AtomicUsize,
    len: AtomicUsize,
    seq: AtomicI64,
    search: HnswSearch,
    maintainer: Arc<Maintainer>,
}

impl Drop for FlatVectorIndex {
    fn drop(&mut self) {
        self.maintainer.shutdown();
    }
}

impl Default for FlatVectorIndex {
    fn default() -> Self {
        Self::new(VectorConfig::default())
    }
}

impl FlatVectorIndex {
    pub fn new(config: VectorConfig) -> Self {
        Self {
            tenants: RwLock::new(HashMap::new()),
            dim: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            seq: AtomicI64::new(0),
            search: HnswSearch {
                exact: ExactScan { parallel_rows: config.parallel_rows, threads: config.scan_threads },
                threshold: config.hnsw_threshold,
                ef_search: AtomicUsize::new(config.hnsw.ef_search),
            },
            maintainer: Arc::new(Maintainer::new(config.hnsw, config.hnsw_threshold, config.scan_threads)),
        }
    }

    /// Builds (or rebuilds) `tenant`'s HNSW graph now, in the calling thread, if the tenant has
    /// more rows than the threshold; searches and writes go on meanwhile. False when no graph
    /// was built.
    pub fn rebuild_hnsw(&self, tenant: &TenantId) -> bool {
        self.tenant(tenant).is_some_and(|s| self.maintainer.rebuild(&s))
    }

    /// Changes the HNSW search candidate list size for subsequent searches.
    pub fn set_hnsw_ef_search(&self, ef: usize) {
        self.search.ef_search.store(ef.max(1), Ordering::Relaxed);
    }

    /// Blocks until the background worker has caught up with every write so far.
    pub fn wait_hnsw_idle(&self) {
        self.maintainer.wait_idle();
    }

    /// The state of `tenant`'s graph, if it has one.
    pub fn hnsw_stats(&self, tenant: &TenantId) -> Option<HnswStats> {
        let shared = self.tenant(tenant)?;
        let t = shared.read();
        let g = t.ann.graph.as_ref()?;
        Some(HnswStats { graph_nodes: g.added(), pending: t.ann.pending.len(), dead: t.ann.dead(t.len()) })
    }

    /// Queues `shared` for graph upkeep if it is large or has a graph.
    fn after_write(&self, shared: &Shared, t: &TenantVectors) {
        if self.maintainer.wants(t.len(), t.ann.graph.is_some()) {
            self.maintainer.notify(shared);
        }
    }

    /// The dimension, once fixed by the first insert.
    pub fn dim(&self) -> Option<usize> {
        Some(self.dim.load(Ordering::Acquire)).filter(|&d| d > 0)
    }

    /// Fixes the dimension to `d` if unset; fails if it is set to something else.
    fn check_dim(&self, d: usize) -> Result<(), IndexError> {
        if d == 0 {
            return Err(IndexError::Invalid("empty vector".into()));
        }
        match self.dim.compare_exchange(0, d, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Ok(()),
            Err(cur) if cur == d => Ok(()),
            Err(cur) => Err(IndexError::Invalid(format!("vector has {d} dimensions, the index has {cur}"))),
        }
    }

    fn tenant(&self, t: &TenantId) -> Option<Shared> {
        self.tenants.read().get(t).cloned()
    }

    fn tenant_or_create(&self, t: &TenantId, dim: usize) -> Shared {
        if let Some(s) = self.tenant(t) {
            return s;
        }
        let mut map = self.tenants.write();
        map.entry(t.clone()).or_insert_with(|| Arc::new(RwLock::new(TenantVectors::new(dim)))).clone()
    }
}

/// `v` scaled to unit length (unchanged when it is all zeros).
fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = dot_product(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter().map(|x| x / norm).collect()
    } else {
        v.to_vec()
    }
}

impl VectorIndex for FlatVectorIndex {
    fn upsert(&self, items: &[(Memory, Vec<f32>)]) -> Result<(), IndexError> {
        let Some(dim) = items.first().map(|(_, v)| v.len()) else { return Ok(()) };
        if let Some((m, v)) = items.iter().find(|(_, v)| v.len() != dim) {
            return Err(IndexError::Invalid(format!(
                "vector of {} has {} dimensions, others in the batch have {dim}",
                m.id,
                v.len()
            )));
        }
        self.check_dim(dim)?;
        let mut by_tenant: HashMap<&TenantId, Vec<&(Memory, Vec<f32>)>> = HashMap::new();
        for item in items {
            by_tenant.entry(&item.0.tenant).or_default().push(item);
        }
        for (tenant, items) in by_tenant {
            let shared = self.tenant_or_create(tenant, dim);
            let mut t = shared.write();
            if t.dim() != dim {
                return Err(IndexError::Invalid("index was cleared during upsert".into()));
            }
            for (m, v) in items {
                if t.upsert(m, &normalised(v)) {
                    self.len.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.after_write(&shared, &t);
        }
        Ok(())
    }

    fn remove(&self, items: &[(TenantId, Uuid)]) {
        for (tenant, id) in items {
            if let Some(shared) = self.tenant(tenant) {
                let mut t = shared.write();
                if t.remove(*id) {
                    self.len.fetch_sub(1, Ordering::Relaxed);
                    self.after_write(&shared, &t);
                }
            }
        }
    }

    fn contains(&self, tenant: &TenantId, id: Uuid) -> bool {
        self.tenant(tenant).is_some_and(|shared| shared.read().contains(id))
    }

    fn search(
        &self,
        tenant: &TenantId,
        query: &[f32],
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        let Some(dim) = self.dim() else { return Ok(Vec::new()) };
        if query.len() != dim {
            return Err(IndexError::Invalid(format!(
                "query has {} dimensions, the index has {dim}",
                query.len()
            )));
        }
        let Some(shared) = self.tenant(tenant) else { return Ok(Vec::new()) };
        let q = normalised(query);
        let t = shared.read();
        let Some(f) = t.compile(filter) else { return Ok(Vec::new()) };
        let hits = self.search.top_k(&t, &q, &f, limit);
        Ok(hits.into_iter().map(|s| Hit { id: s.id, score: s.score }).collect())
    }

    fn seq(&self) -> i64 {
        self.seq.load(Ordering::Acquire)
    }

    fn set_seq(&self, seq: i64) {
        self.seq.store(seq, Ordering::Release);
    }

    fn clear(&self) {
        let mut map = self.tenants.write();
        map.clear();
        self.len.store(0, Ordering::Relaxed);
        self.dim.store(0, Ordering::Release);
    }

    fn background_jobs(&self) -> usize {
        self.maintainer.jobs()
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod hnsw_tests;
#[cfg(test)]
mod tests;
