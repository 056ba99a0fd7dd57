//! memd-index owns the derived indexes: lexical BM25 over tantivy and dense cosine over an
//! in-memory vector index. Both are derived from the store: they record the change-log `seq` they
//! reflect, catch up from the log, and can be rebuilt from scratch. Neither is a source of truth.
//!
//! Every search takes a [`TenantId`]; a tenant's query can only see that tenant's documents.
//! Indexes evaluate the structural parts of a [`Filter`] (user, agent, session, tags, time range);
//! metadata equality and expiry are applied by the service against the store.

use memd_store::{Filter, Memory, TenantId};
use thiserror::Error;
use uuid::Uuid;

/// One scored result of an index search; higher `score` is better.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub id: Uuid,
    pub score: f32,
}

#[derive(Debug, Error)]
pub enum IndexError {
    #[error("index I/O error: {0}")]
    Io(String),
    #[error("index corrupt: {0}")]
    Corrupt(String),
    #[error("invalid index input: {0}")]
    Invalid(String),
    /// Another process (or another open in this one) holds the index's writer lock.
    #[error("index locked: {0}")]
    Locked(String),
}

/// BM25 over memory content (and tags), filtered and tenant-scoped.
pub trait LexicalIndex: Send + Sync + 'static {
    /// Adds or replaces `upserts` and removes `deletes`; visible to `search` as soon as this
    /// returns. `seq` is the change-log position this batch brings the index to.
    fn apply(&self, upserts: &[Memory], deletes: &[(TenantId, Uuid)], seq: i64) -> Result<(), IndexError>;
    /// Top `limit` by BM25 for `query` (free user text; never parsed as query syntax).
    fn search(
        &self,
        tenant: &TenantId,
        query: &str,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError>;
    /// [`search`](Self::search) with the query expanded by pseudo-relevance feedback: terms that
    /// weigh most in `feedback` (the texts of a first search's best hits) join it at a reduced
    /// weight. An index without feedback support searches plainly.
    fn search_with_feedback(
        &self,
        tenant: &TenantId,
        query: &str,
        feedback: &Feedback,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        let _ = feedback;
        self.search(tenant, query, filter, limit)
    }
    /// The change-log position that is durably reflected on disk.
    fn seq(&self) -> i64;
    /// Persists everything applied so far together with its seq.
    fn flush(&self) -> Result<(), IndexError>;
    /// Removes every document (before a rebuild).
    fn clear(&self) -> Result<(), IndexError>;
    /// Number of documents (all tenants).
    fn num_docs(&self) -> u64;
}

/// Dense cosine similarity over L2-normalised vectors, filtered and tenant-scoped.
pub trait VectorIndex: Send + Sync + 'static {
    /// Adds or replaces vectors of memories.
    fn upsert(&self, items: &[(Memory, Vec<f32>)]) -> Result<(), IndexError>;
    /// Removes memories (absent ids are ignored).
    fn remove(&self, items: &[(TenantId, Uuid)]);
    /// True when the index holds a vector of this memory.
    fn contains(&self, tenant: &TenantId, id: Uuid) -> bool;
    /// Top `limit` by cosine similarity to `query`.
    fn search(
        &self,
        tenant: &TenantId,
        query: &[f32],
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError>;
    /// The change-log position reflected in memory.
    fn seq(&self) -> i64;
    fn set_seq(&self, seq: i64);
    /// Removes every vector.
    fn clear(&self);
    /// Number of vectors (all tenants).
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Tenants whose background upkeep (an ANN graph build or insert) is queued or running;
    /// searches are answered meanwhile, but slower and with more CPU in use. 0 when idle.
    fn background_jobs(&self) -> usize {
        0
    }
}

pub mod lexical;
mod time;
pub mod vector;

pub use lexical::{document_tokens, query_tokens, Feedback, LexicalConfig, TantivyLexical};
pub use vector::{FlatVectorIndex, HnswParams, HnswStats, VectorConfig};

#[cfg(test)]
mod testutil;
