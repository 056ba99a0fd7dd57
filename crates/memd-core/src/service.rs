//! [`MemoryService`]: one async function per operation, called by every transport. Each checks
//! the caller's scope and user binding, validates input, and runs store and index work on the
//! blocking pool so the async runtime never blocks.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use memd_embed::Embedder;
use memd_store::{
    DeleteScope, Filter, HistoryEntry, ListQuery, Memory, MemoryPatch, NewMemory, Page, Scope, Store,
    TagMatch, TimeField,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{Authenticator, Caller};
use crate::config::Config;
use crate::indexer::Indexer;
use crate::metrics as m;
use crate::pipeline::{EmbedPipeline, PipelineState};
use crate::{validate, ServiceError};
use memd_embed::QueryCache;

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Everything the service owns; cheap to clone (`Arc` inside).
#[derive(Clone)]
pub struct MemoryService {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The settings in effect; a reload swaps in a new one (see [`MemoryService::reconfigure`]).
    pub cfg: arc_swap::ArcSwap<Config>,
    pub store: Arc<dyn Store>,
    pub indexer: Arc<Indexer>,
    pub embedder: Option<Arc<dyn Embedder>>,
    /// Why the configured embedder could not be loaded (`None` when it was, or none is wanted).
    pub embedder_error: Option<String>,
    pub query_cache: QueryCache,
    pub result_cache: crate::result_cache::ResultCache,
    pub pipeline: Option<EmbedPipeline>,
    pub pipeline_state: Arc<PipelineState>,
    pub auth: Authenticator,
    pub started_at: DateTime<Utc>,
    pub perf: crate::perf::PerfRecorder,
    pub stored_gauge: crate::stored::StoredGauge,
}

impl Inner {
    /// After a committed write: brings the indexes up to the change log. A failure is logged,
    /// not returned — the write is durable and about to be acknowledged (an error would invite
    /// a retry that stores it twice); the next write or embedding batch catches up.
    pub(crate) fn catch_up_after_write(&self) {
        if let Err(e) = self.indexer.catch_up() {
            tracing::warn!(event = "index_catch_up_failed", error_type = e.code().name(), error = %e);
        }
    }
}

/// A memory to add. `user_id` defaults per [`Caller::user_for_write`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AddMemory {
    pub content: String,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub app_id: Option<String>,
    pub session_id: Option<String>,
    pub tags: Vec<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub kind: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Filters shared by list and search.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterParams {
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub session_id: Option<String>,
    pub tags: Vec<String>,
    pub tag_match: TagMatch,
    pub time_field: TimeField,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl MemoryService {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        MemoryService { inner: Arc::new(inner) }
    }

    /// The settings in effect (a reload may replace them between two calls).
    pub fn config(&self) -> Arc<Config> {
        self.inner.cfg.load_full()
    }

    pub fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    pub fn indexer(&self) -> &Arc<Indexer> {
        &self.inner.indexer
    }

    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.inner.embedder.as_ref()
    }

    /// Why the configured embedding model could not be loaded at start-up (memd then serves
    /// keyword search only); `None` when it was, or when no embedder is configured.
    pub fn embedder_error(&self) -> Option<&str> {
        self.inner.embedder_error.as_deref()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.inner.started_at
    }

    /// Memories acknowledged but not yet embedded.
    pub fn embed_pending(&self) -> i64 {
        self.inner.pipeline_state.pending.load(Ordering::Relaxed)
    }

    /// Recounts the embedding queue in the store when no pipeline keeps the count (the model
    /// failed to load): deletes and expiry shrink the queue without anyone noticing otherwise.
    pub async fn recount_pending(&self) -> Result<()> {
        if self.inner.pipeline.is_some() || self.inner.embedder_error.is_none() {
            return Ok(());
        }
        let n = self.blocking(|i| Ok(i.store.pending_count()?)).await?;
        self.inner.pipeline_state.pending.store(n as i64, Ordering::Relaxed);
        ::metrics::gauge!(m::EMBED_PENDING).set(n as f64);
        Ok(())
    }

    /// Background embedding batches that failed in a row (0 while the embedder works).
    pub fn embed_failures(&self) -> i64 {
        self.inner.pipeline_state.failures.load(Ordering::Relaxed)
    }

    /// Runs blocking work (store, index, embedder) off the async runtime.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await?
    }

    /// Brings the indexes up to date first when another process has written to the store (a
    /// free check when none has).
    pub(crate) async fn see_other_writers(&self) -> Result<()> {
        if self.inner.indexer.behind() {
            self.blocking(|i| i.indexer.catch_up().map(drop)).await?;
        }
        Ok(())
    }

    /// Resolves a credential into a caller (blocking store read when not cached).
    pub async fn authenticate(&self, credential: Option<String>) -> Result<Caller> {
        if let Some(known) = self.inner.auth.authenticate_cached(credential.as_deref()) {
            return known;
        }
        self.blocking(move |i| i.auth.authenticate(credential.as_deref())).await
    }

    pub async fn add(&self, caller: &Caller, req: AddMemory) -> Result<Memory> {
        let mut out = self.add_batch(caller, vec![req]).await?;
        out.pop().ok_or_else(|| ServiceError::Internal("insert returned nothing".into()))
    }

    /// Adds all or none; each item is validated first.
    pub async fn add_batch(&self, caller: &Caller, reqs: Vec<AddMemory>) -> Result<Vec<Memory>> {
        caller.require(Scope::Write)?;
        let cfg = self.config();
        let l = &cfg.limits;
        if reqs.is_empty() || reqs.len() > l.max_batch {
            return Err(ServiceError::invalid(
                "invalid_batch",
                format!("a batch holds 1-{} memories, got {}", l.max_batch, reqs.len()),
            ));
        }
        let items = reqs.into_iter().map(|r| self.new_memory(caller, r)).collect::<Result<Vec<_>>>()?;
        let tenant = caller.tenant.clone();
        let n = items.len();
        let _running = self.inner.pipeline_state.foreground();
        let stored = self
            .blocking(move |i| {
                let stored = i.store.insert(&tenant, items, Utc::now())?;
                i.catch_up_after_write();
                Ok(stored)
            })
            .await?;
        ::metrics::counter!(m::MEMORIES_WRITTEN_TOTAL, "op" => "add").increment(n as u64);
        self.queued(n);
        Ok(stored)
    }

    fn new_memory(&self, caller: &Caller, r: AddMemory) -> Result<NewMemory> {
        let m = NewMemory {
            user_id: caller.user_for_write(r.user_id.as_deref())?,
            agent_id: r.agent_id,
            app_id: r.app_id,
            session_id: r.session_id,
            content: r.content,
            tags: dedup(r.tags),
            metadata: r.metadata,
            kind: r.kind.unwrap_or_else(|| "memory".into()),
            cxd: None,
            event_time: r.event_time,
            expires_at: r.expires_at,
        };
        validate::new_memory(&self.config().limits, &m)?;
        Ok(m)
    }

    pub(crate) fn queued(&self, n: usize) {
        if self.inner.embedder.is_some() || self.inner.embedder_error.is_some() {
            let p = self.inner.pipeline_state.pending.fetch_add(n as i64, Ordering::Relaxed);
            ::metrics::gauge!(m::EMBED_PENDING).set((p + n as i64) as f64);
        }
        if let Some(p) = &self.inner.pipeline {
            p.notify();
        }
    }

    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<Memory> {
        caller.require(Scope::Read)?;
        let (c, tenant) = (caller.clone(), caller.tenant.clone());
        self.blocking(move |i| {
            let m = i.store.get(&tenant, id, Utc::now())?;
            m.filter(|m| c.can_see(m)).ok_or(ServiceError::NotFound)
        })
        .await
    }

    pub async fn update(&self, caller: &Caller, id: Uuid, mut patch: MemoryPatch) -> Result<Memory> {
        caller.require(Scope::Write)?;
        validate::patch(&self.config().limits, &patch)?;
        patch.tags = patch.tags.map(dedup);
        let content_changed = patch.content.is_some();
        let (c, tenant) = (caller.clone(), caller.tenant.clone());
        let updated = self
            .blocking(move |i| {
                let now = Utc::now();
                let visible = i.store.get(&tenant, id, now)?.is_some_and(|m| c.can_see(&m));
                if !visible {
                    return Err(ServiceError::NotFound);
                }
                let m = i.store.update(&tenant, id, patch, now)?;
                i.catch_up_after_write();
                Ok(m)
            })
            .await?;
        ::metrics::counter!(m::MEMORIES_WRITTEN_TOTAL, "op" => "update").increment(1);
        if content_changed {
            self.queued(1);
        }
        Ok(updated)
    }

    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<()> {
        caller.require(Scope::Write)?;
        let (c, tenant) = (caller.clone(), caller.tenant.clone());
        self.blocking(move |i| {
            let now = Utc::now();
            let visible = i.store.get(&tenant, id, now)?.is_some_and(|m| c.can_see(&m));
            if !visible {
                return Err(ServiceError::NotFound);
            }
            i.store.delete(&tenant, id, now)?;
            i.catch_up_after_write();
            Ok(())
        })
        .await?;
        ::metrics::counter!(m::MEMORIES_WRITTEN_TOTAL, "op" => "delete").increment(1);
        Ok(())
    }

    /// Deletes every memory of a user, agent or session; refuses an empty scope.
    pub async fn delete_scoped(
        &self,
        caller: &Caller,
        user_id: Option<String>,
        agent_id: Option<String>,
        session_id: Option<String>,
    ) -> Result<u64> {
        caller.require(Scope::Write)?;
        let user_id = caller.user_for_read(user_id.as_deref())?;
        let scope = DeleteScope::new(user_id, agent_id, session_id)
            .map_err(|e| ServiceError::invalid("scope_required", e.to_string()))?;
        let tenant = caller.tenant.clone();
        let n = self
            .blocking(move |i| {
                let n = i.store.delete_scoped(&tenant, &scope, Utc::now())?;
                i.catch_up_after_write();
                Ok(n)
            })
            .await?;
        ::metrics::counter!(m::MEMORIES_WRITTEN_TOTAL, "op" => "delete").increment(n);
        Ok(n)
    }

    pub async fn list(
        &self,
        caller: &Caller,
        params: FilterParams,
        cursor: Option<String>,
        limit: Option<usize>,
    ) -> Result<Page<Memory>> {
        caller.require(Scope::Read)?;
        let max = self.config().limits.max_list_limit;
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > max {
            return Err(ServiceError::invalid("invalid_limit", format!("limit must be 1-{max}")));
        }
        let q = ListQuery { filter: self.filter(caller, params)?, cursor, limit };
        let tenant = caller.tenant.clone();
        self.blocking(move |i| Ok(i.store.list(&tenant, &q, Utc::now())?)).await
    }

    pub async fn history(&self, caller: &Caller, id: Uuid) -> Result<Vec<HistoryEntry>> {
        caller.require(Scope::Read)?;
        let (c, tenant) = (caller.clone(), caller.tenant.clone());
        self.blocking(move |i| {
            if c.bound_user.is_some() {
                // A user-bound key sees history only of that user's live memories.
                let visible = i.store.get(&tenant, id, Utc::now())?.is_some_and(|m| c.can_see(&m));
                if !visible {
                    return Err(ServiceError::NotFound);
                }
            }
            Ok(i.store.history(&tenant, id)?)
        })
        .await
    }

    /// Builds a store/index filter from request parameters and the caller's user binding.
    pub(crate) fn filter(&self, caller: &Caller, p: FilterParams) -> Result<Filter> {
        let cfg = self.config();
        let l = &cfg.limits;
        validate::tags(l, &p.tags)?;
        for (name, v) in [("agent_id", &p.agent_id), ("session_id", &p.session_id)] {
            validate::id_field(l, name, v.as_deref())?;
        }
        if let (Some(a), Some(b)) = (p.after, p.before) {
            if a >= b {
                return Err(ServiceError::invalid("invalid_time_range", "after must be earlier than before"));
            }
        }
        Ok(Filter {
            user_id: caller.user_for_read(p.user_id.as_deref())?,
            agent_id: p.agent_id,
            session_id: p.session_id,
            tags: p.tags,
            tag_match: p.tag_match,
            time_field: p.time_field,
            after: p.after,
            before: p.before,
            metadata: p.metadata,
        })
    }

    /// Stops background work and persists the indexes (graceful shutdown).
    pub async fn shutdown(&self) -> Result<()> {
        self.blocking(|i| {
            if let Some(p) = &i.pipeline {
                p.shutdown();
            }
            i.indexer.flush()
        })
        .await
    }
}

/// Removes duplicate tags, keeping first occurrences in order.
fn dedup(tags: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    tags.into_iter().filter(|t| seen.insert(t.clone())).collect()
}
