//! A bounded cache of search-query embeddings.
//!
//! Owns [`QueryCache`] (moka, keyed by `(model_id, text)`, hit/miss counters) and
//! [`CachedEmbedder`], which puts that cache in front of any [`Embedder`] for queries only.
//! Documents being stored are embedded once and never looked up again, so they bypass it.
//! Concurrent misses for the same key are coalesced into one embedding call.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use moka::sync::Cache;

use crate::{EmbedError, Embedder};

/// Counters of a [`QueryCache`] since it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Entries currently held.
    pub entries: u64,
    pub capacity: u64,
}

impl CacheStats {
    /// hits / (hits + misses), 0.0 before any lookup.
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

/// `(model_id, query text)`.
type Key = (Arc<str>, Arc<str>);

/// Bounded map `(model_id, text)` → query vector.
pub struct QueryCache {
    cache: Cache<Key, Arc<[f32]>>,
    capacity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for QueryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryCache").field("stats", &self.stats()).finish()
    }
}

impl QueryCache {
    /// A cache holding at most `capacity` query vectors (0 disables caching).
    pub fn new(capacity: u64) -> Self {
        Self { cache: Cache::new(capacity), capacity, hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// The cached vector of `text` under `embedder`'s model, embedding it on a miss.
    /// Errors are not cached.
    pub fn get_or_embed(&self, embedder: &dyn Embedder, text: &str) -> Result<Arc<[f32]>, EmbedError> {
        let key: Key = (embedder.model_id().into(), text.into());
        let ran = AtomicBool::new(false);
        let result = self.cache.try_get_with(key, || {
            ran.store(true, Ordering::Relaxed);
            embed_one(embedder, text)
        });
        let counter = if ran.load(Ordering::Relaxed) { &self.misses } else { &self.hits };
        counter.fetch_add(1, Ordering::Relaxed);
        result.map_err(|e| copy_error(&e))
    }

    /// Hit/miss counters and size (applies pending evictions first so `entries` is current).
    pub fn stats(&self) -> CacheStats {
        self.cache.run_pending_tasks();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.cache.entry_count(),
            capacity: self.capacity,
        }
    }

    /// Drops every entry (e.g. after the embedding model changed); counters are kept.
    pub fn clear(&self) {
        self.cache.invalidate_all();
    }
}

/// An [`Embedder`] with a [`QueryCache`] for search queries.
///
/// [`CachedEmbedder::embed_query`] goes through the cache; [`Embedder::embed`] (documents)
/// goes straight to the inner embedder.
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    cache: QueryCache,
}

impl std::fmt::Debug for CachedEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedEmbedder")
            .field("model_id", &self.inner.model_id())
            .field("cache", &self.cache)
            .finish()
    }
}

impl CachedEmbedder {
    /// Wraps `inner` with a query cache of `capacity` entries.
    pub fn new(inner: Arc<dyn Embedder>, capacity: u64) -> Self {
        Self { inner, cache: QueryCache::new(capacity) }
    }

    /// The vector of a search query, from the cache when possible.
    pub fn embed_query(&self, text: &str) -> Result<Arc<[f32]>, EmbedError> {
        self.cache.get_or_embed(self.inner.as_ref(), text)
    }

    /// Cache counters.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// The wrapped embedder.
    pub fn inner(&self) -> &Arc<dyn Embedder> {
        &self.inner
    }

    /// The cache itself.
    pub fn cache(&self) -> &QueryCache {
        &self.cache
    }
}

impl Embedder for CachedEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.inner.embed(texts)
    }
}

fn embed_one(embedder: &dyn Embedder, text: &str) -> Result<Arc<[f32]>, EmbedError> {
    let mut vectors = embedder.embed(&[text])?;
    match vectors.pop() {
        Some(v) if vectors.is_empty() => Ok(v.into()),
        _ => Err(EmbedError::Inference("embedder returned the wrong number of vectors".into())),
    }
}

/// moka shares one error among coalesced callers; each caller gets its own copy.
fn copy_error(e: &EmbedError) -> EmbedError {
    match e {
        EmbedError::ModelUnavailable(m) => EmbedError::ModelUnavailable(m.clone()),
        EmbedError::Inference(m) => EmbedError::Inference(m.clone()),
        EmbedError::Provider(m) => EmbedError::Provider(m.clone()),
        EmbedError::Invalid(m) => EmbedError::Invalid(m.clone()),
    }
}
