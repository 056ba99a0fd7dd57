//! [`Store`] for [`SqliteStore`]: each method picks a connection (the group-committing writer,
//! a reader, or a reader snapshot) and delegates to the submodule that owns it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{adjacent, embeddings, events, graph, keys, memories, perf, query, SqliteStore};
use crate::events::{Event, EventQuery, NewEvent, Silence};
use crate::graph::{Graph, GraphRead, GraphWrite, GraphWritten};
use crate::perf::PerfMinute;
use crate::{
    Adjacent, ApiKey, Change, DeleteScope, EmbeddingWrite, HistoryEntry, ListQuery, Memory, MemoryPatch,
    NewMemory, Page, PendingEmbedding, Result, Store, StoredVector, TagCount, TenantId,
};

impl Store for SqliteStore {
    fn insert(&self, tenant: &TenantId, items: Vec<NewMemory>, now: DateTime<Utc>) -> Result<Vec<Memory>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let tenant = tenant.clone();
        self.write(move |c| memories::insert(c, &tenant, items, now))
    }

    fn get(&self, tenant: &TenantId, id: Uuid, now: DateTime<Utc>) -> Result<Option<Memory>> {
        self.read(|c| memories::get(c, tenant, id, now))
    }

    fn get_many(&self, tenant: &TenantId, ids: &[Uuid], now: DateTime<Utc>) -> Result<Vec<Memory>> {
        self.snapshot(|tx| memories::get_many(tx, tenant, ids, now))
    }

    fn adjacent(&self, tenant: &TenantId, ids: &[Uuid], now: DateTime<Utc>) -> Result<Vec<Adjacent>> {
        self.snapshot(|tx| adjacent::adjacent(tx, tenant, ids, now))
    }

    fn update(&self, tenant: &TenantId, id: Uuid, patch: MemoryPatch, now: DateTime<Utc>) -> Result<Memory> {
        let tenant = tenant.clone();
        self.write(move |c| memories::update(c, &tenant, id, patch, now))
    }

    fn delete(&self, tenant: &TenantId, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let tenant = tenant.clone();
        self.write(move |c| memories::delete(c, &tenant, id, now))
    }

    fn delete_scoped(&self, tenant: &TenantId, scope: &DeleteScope, now: DateTime<Utc>) -> Result<u64> {
        let (tenant, scope) = (tenant.clone(), scope.clone());
        self.write(move |c| memories::delete_scoped(c, &tenant, &scope, now))
    }

    fn list(&self, tenant: &TenantId, q: &ListQuery, now: DateTime<Utc>) -> Result<Page<Memory>> {
        self.read(|c| query::list(c, tenant, q, now))
    }

    fn history(&self, tenant: &TenantId, id: Uuid) -> Result<Vec<HistoryEntry>> {
        self.read(|c| memories::history(c, tenant, id))
    }

    fn tag_counts(
        &self,
        tenant: &TenantId,
        user_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TagCount>> {
        self.read(|c| query::tag_counts(c, tenant, user_id, now))
    }

    fn tag_neighbours(
        &self,
        tenant: &TenantId,
        user_id: Option<&str>,
        tag: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<TagCount>> {
        self.read(|c| query::tag_neighbours(c, tenant, user_id, tag, limit, now))
    }

    fn graph_write(
        &self,
        tenant: &TenantId,
        user_id: &str,
        op: GraphWrite,
        now: DateTime<Utc>,
    ) -> Result<GraphWritten> {
        let (tenant, user) = (tenant.clone(), user_id.to_owned());
        self.write(move |c| graph::write(c, &graph::Owner::new(&tenant, &user), op, now))
    }

    fn graph_read(&self, tenant: &TenantId, user_id: &str, q: &GraphRead) -> Result<Graph> {
        self.snapshot(|tx| graph::read(tx, &graph::Owner::new(tenant, user_id), q))
    }

    fn count(&self, tenant: &TenantId) -> Result<u64> {
        self.read(|c| memories::count(c, tenant))
    }

    fn count_by_tenant(&self) -> Result<Vec<(String, u64)>> {
        self.read(memories::count_by_tenant)
    }

    fn pending_embeddings(&self, limit: usize) -> Result<Vec<PendingEmbedding>> {
        self.read(|c| embeddings::pending(c, limit))
    }

    fn pending_count(&self) -> Result<u64> {
        self.read(embeddings::pending_count)
    }

    fn put_embeddings(&self, model: &str, items: &[EmbeddingWrite]) -> Result<usize> {
        if items.is_empty() {
            return Ok(0);
        }
        let (model, items) = (model.to_owned(), items.to_vec());
        self.write(move |c| embeddings::put(c, &model, &items))
    }

    fn embedding_models(&self) -> Result<Vec<(String, u64)>> {
        self.read(embeddings::models)
    }

    fn requeue_for_model(&self, model: &str) -> Result<u64> {
        let model = model.to_owned();
        self.write(move |c| embeddings::requeue_for_model(c, &model))
    }

    fn scan_vectors(&self, model: &str, f: &mut dyn FnMut(Vec<StoredVector>)) -> Result<i64> {
        self.snapshot(|tx| embeddings::scan_vectors(tx, model, f))
    }

    fn vector_of(
        &self,
        tenant: &TenantId,
        id: Uuid,
        model: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredVector>> {
        self.read(|c| embeddings::vector_of(c, tenant, id, model, now))
    }

    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<Change>> {
        self.read(|c| embeddings::changes_since(c, after, limit))
    }

    fn max_seq(&self) -> Result<i64> {
        self.read(embeddings::max_seq)
    }

    fn committed_seq_hint(&self) -> Option<i64> {
        self.shared.as_ref().map(|s| s.load())
    }

    fn scan_memories(&self, f: &mut dyn FnMut(Vec<Memory>)) -> Result<i64> {
        self.snapshot(|tx| embeddings::scan_memories(tx, f))
    }

    fn create_key(&self, key: &ApiKey, secret_hash: &str) -> Result<()> {
        let (key, hash) = (key.clone(), secret_hash.to_owned());
        self.write(move |c| keys::create(c, &key, &hash))
    }

    fn find_key(&self, secret_hash: &str) -> Result<Option<ApiKey>> {
        self.read(|c| keys::find(c, secret_hash))
    }

    fn list_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<ApiKey>> {
        self.read(|c| keys::list(c, tenant))
    }

    fn revoke_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        self.write(move |c| keys::revoke(c, id, now))
    }

    fn has_keys(&self) -> Result<bool> {
        self.read(keys::has_any)
    }

    fn record_event(&self, e: &NewEvent, now: DateTime<Utc>) -> Result<Event> {
        let e = e.clone();
        self.write(move |c| events::record(c, &e, now))
    }

    fn events(&self, q: &EventQuery) -> Result<Vec<Event>> {
        self.read(|c| events::list(c, q))
    }

    fn prune_events(&self, before: DateTime<Utc>, keep: usize) -> Result<u64> {
        self.write(move |c| events::prune(c, before, keep))
    }

    fn create_silence(&self, s: &Silence, now: DateTime<Utc>) -> Result<Silence> {
        let s = s.clone();
        self.write(move |c| events::create_silence(c, &s, now))
    }

    fn delete_silence(&self, id: i64) -> Result<bool> {
        self.write(move |c| events::delete_silence(c, id))
    }

    fn silences(&self, now: DateTime<Utc>) -> Result<Vec<Silence>> {
        self.read(|c| events::silences(c, now))
    }

    fn put_perf(&self, rows: &[PerfMinute]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = rows.to_vec();
        self.write(move |c| perf::put(c, &rows))
    }

    fn perf_range(&self, from: i64, to: i64) -> Result<Vec<PerfMinute>> {
        self.read(|c| perf::range(c, from, to))
    }

    fn prune_perf(&self, before: i64) -> Result<u64> {
        self.write(move |c| perf::prune(c, before))
    }

    fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
    }
}
