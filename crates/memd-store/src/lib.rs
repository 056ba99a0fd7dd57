//! memd-store owns the source of truth: the data model ([`model`]), the [`Store`] trait every
//! backend implements, the embedded SQLite backend ([`sqlite`]) and the conformance suite
//! ([`conformance`]) that every backend must pass unchanged.
//!
//! Tenant isolation is structural: every method that reads or writes memories takes a
//! [`TenantId`] and every backend binds it into every statement. There is no method that reads
//! memories without one; the only cross-tenant reads are the change feed and the embedding queue,
//! which serve the derived indexes and the embedding pipeline and never reach a caller directly.
//!
//! All methods are blocking; async callers run them on `spawn_blocking`.

pub mod conformance;
mod error;
pub mod events;
pub mod graph;
pub mod keys;
pub mod metrics;
pub mod model;
pub mod perf;
pub mod sqlite;
mod validate;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use error::StoreError;
pub use model::*;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The storage backend. Every write runs in one transaction that also appends to the change log
/// (and, for new or changed content, to the durable embedding queue), so a derived index or the
/// embedding pipeline can always catch up from the store alone.
pub trait Store: Send + Sync + 'static {
    // ---- memories (tenant-scoped) ----

    /// Inserts all of `items` in one transaction (all or nothing) and returns them as stored, in
    /// order. Each gets a UUIDv7, version 1, an `ADD` history row, a change-log row and a queue row.
    /// Times are kept to the microsecond. Text containing NUL (which PostgreSQL cannot store) is
    /// refused with `Invalid`, by every backend.
    fn insert(&self, tenant: &TenantId, items: Vec<NewMemory>, now: DateTime<Utc>) -> Result<Vec<Memory>>;

    /// A live memory by id: `None` when absent, deleted, expired at `now`, or another tenant's.
    fn get(&self, tenant: &TenantId, id: Uuid, now: DateTime<Utc>) -> Result<Option<Memory>>;

    /// Live memories by id, in the order of `ids`, skipping any that `get` would not return.
    fn get_many(&self, tenant: &TenantId, ids: &[Uuid], now: DateTime<Utc>) -> Result<Vec<Memory>>;

    /// For each of `ids` that is live, its [`Placement`] and those of the live memories of the
    /// same user stored just before and just after it, in the order of `ids`, skipping the rest.
    fn adjacent(&self, tenant: &TenantId, ids: &[Uuid], now: DateTime<Utc>) -> Result<Vec<Adjacent>>;

    /// Applies `patch`, bumps `version` and `updated_at`, writes an `UPDATE` history row and a
    /// change-log row; new content is re-queued for embedding and its old vector dropped (unchanged
    /// content keeps its vector). `NotFound` as for `get`.
    fn update(&self, tenant: &TenantId, id: Uuid, patch: MemoryPatch, now: DateTime<Utc>) -> Result<Memory>;

    /// Tombstones one memory (history `DELETE`, change-log row). `NotFound` as for `get`.
    fn delete(&self, tenant: &TenantId, id: Uuid, now: DateTime<Utc>) -> Result<()>;

    /// Tombstones every live memory in `scope`; returns how many.
    fn delete_scoped(&self, tenant: &TenantId, scope: &DeleteScope, now: DateTime<Utc>) -> Result<u64>;

    /// Live memories matching `q.filter`, newest `created_at` first, `q.limit` per page.
    fn list(&self, tenant: &TenantId, q: &ListQuery, now: DateTime<Utc>) -> Result<Page<Memory>>;

    /// The history of a memory, oldest first, including after deletion. `NotFound` when the id
    /// never existed in this tenant.
    fn history(&self, tenant: &TenantId, id: Uuid) -> Result<Vec<HistoryEntry>>;

    /// Tags of live memories (optionally of one user) with counts, most used first.
    fn tag_counts(
        &self,
        tenant: &TenantId,
        user_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TagCount>>;

    /// Tags that co-occur with `tag` on live memories (optionally of one user), most first.
    fn tag_neighbours(
        &self,
        tenant: &TenantId,
        user_id: Option<&str>,
        tag: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<TagCount>>;

    // ---- knowledge graph (tenant- and user-scoped; see [`graph`]) ----

    /// Applies one change to the graph of `user_id`, with the observations' mirror memories, in
    /// one transaction.
    fn graph_write(
        &self,
        tenant: &TenantId,
        user_id: &str,
        op: graph::GraphWrite,
        now: DateTime<Utc>,
    ) -> Result<graph::GraphWritten>;

    /// Reads part of the graph of `user_id` from one snapshot.
    fn graph_read(&self, tenant: &TenantId, user_id: &str, q: &graph::GraphRead) -> Result<graph::Graph>;

    /// Number of live memories in the tenant (expiry judged by the wall clock).
    fn count(&self, tenant: &TenantId) -> Result<u64>;

    /// Live memories of every tenant that has any, by tenant name (system-level, for the
    /// `memd_memories_stored` gauge; expiry judged by the wall clock).
    fn count_by_tenant(&self) -> Result<Vec<(String, u64)>>;

    // ---- embeddings (serve the pipeline and the vector index) ----

    /// Up to `limit` queued memories, oldest first.
    fn pending_embeddings(&self, limit: usize) -> Result<Vec<PendingEmbedding>>;

    /// Number of memories acknowledged but not yet embedded.
    fn pending_count(&self) -> Result<u64>;

    /// Stores vectors computed by `model`, in one transaction; an entry whose memory has moved
    /// past `version` or was deleted is dropped from the queue without storing. Each stored vector
    /// appends an `Embed` change. Returns how many were stored.
    fn put_embeddings(&self, model: &str, items: &[EmbeddingWrite]) -> Result<usize>;

    /// Embedding counts per model id over live memories.
    fn embedding_models(&self) -> Result<Vec<(String, u64)>>;

    /// Queues every live memory whose vector is missing or was made by another model; returns
    /// how many were queued. Used when the configured model changes.
    fn requeue_for_model(&self, model: &str) -> Result<u64>;

    /// Calls `f` with every live memory holding a vector from `model`, in batches, and returns the
    /// change-log `seq` the snapshot reflects (all read in one read transaction).
    fn scan_vectors(&self, model: &str, f: &mut dyn FnMut(Vec<StoredVector>)) -> Result<i64>;

    /// The current vector of a live memory made by `model`, for applying one change.
    fn vector_of(
        &self,
        tenant: &TenantId,
        id: Uuid,
        model: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredVector>>;

    // ---- change log ----

    /// Up to `limit` changes with `seq > after`, in order.
    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<Change>>;

    /// The highest `seq` written (0 when empty).
    fn max_seq(&self) -> Result<i64>;

    /// The highest `seq` any process sharing this store has committed, as far as can be told
    /// without a query (nanoseconds; may lag a commit of a process that died right after it).
    /// `None` when the backend cannot be shared between processes: then only this process
    /// writes, and its own writes reach its indexes without asking.
    fn committed_seq_hint(&self) -> Option<i64> {
        None
    }

    /// Calls `f` with every live memory in batches (for full index rebuilds) and returns the seq
    /// the snapshot reflects.
    fn scan_memories(&self, f: &mut dyn FnMut(Vec<Memory>)) -> Result<i64>;

    // ---- API keys ----

    fn create_key(&self, key: &ApiKey, secret_hash: &str) -> Result<()>;
    /// The unrevoked key whose secret hashes to `secret_hash`.
    fn find_key(&self, secret_hash: &str) -> Result<Option<ApiKey>>;
    /// Keys of one tenant, or of all tenants (an admin listing) when `tenant` is `None`.
    fn list_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<ApiKey>>;
    /// Revokes a key; `NotFound` when absent.
    fn revoke_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<()>;
    /// Whether any unrevoked key exists (local mode is only allowed when none does).
    fn has_keys(&self) -> Result<bool>;

    // ---- operational events (system-wide; see [`events`]) ----

    /// Appends an event stamped `now`.
    fn record_event(&self, e: &events::NewEvent, now: DateTime<Utc>) -> Result<events::Event>;
    /// Events matching `q`, newest first.
    fn events(&self, q: &events::EventQuery) -> Result<Vec<events::Event>>;
    /// Deletes events older than `before`, then all but the newest `keep`; returns how many.
    fn prune_events(&self, before: DateTime<Utc>, keep: usize) -> Result<u64>;
    /// Stores an alert silence (`id` ignored and assigned); ended silences are dropped.
    fn create_silence(&self, s: &events::Silence, now: DateTime<Utc>) -> Result<events::Silence>;
    /// Deletes a silence; `false` when there was none with that id.
    fn delete_silence(&self, id: i64) -> Result<bool>;
    /// Silences not ended at `now`, oldest first.
    fn silences(&self, now: DateTime<Utc>) -> Result<Vec<events::Silence>>;

    // ---- performance history (see [`perf`]) ----

    /// Adds these minutes (merging into rows already there).
    fn put_perf(&self, rows: &[perf::PerfMinute]) -> Result<()>;
    /// Minutes `from <= minute < to` (unix minutes), by minute then series.
    fn perf_range(&self, from: i64, to: i64) -> Result<Vec<perf::PerfMinute>>;
    /// Deletes minutes before `before`; returns how many rows.
    fn prune_perf(&self, before: i64) -> Result<u64>;

    // ---- health ----

    /// A cheap round trip to the backend.
    fn ping(&self) -> Result<()>;
}
