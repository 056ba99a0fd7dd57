//! The knowledge-graph operations (the MCP reference memory server's tools, see
//! [`memd_store::graph`]): scope and user checks, input limits, and a ranked search over the
//! memories that mirror observations.

use std::collections::HashMap;

use chrono::Utc;
use memd_store::graph::{Graph, GraphRead, GraphWrite, GraphWritten, GRAPH_ENTITY_KEY, GRAPH_TAG};
use memd_store::Scope;

use crate::auth::Caller;
use crate::search::{SearchMode, SearchRequest};
use crate::service::{FilterParams, MemoryService, Result};
use crate::{validate, ServiceError};

/// Items (entities, relations, observation groups or names) one call may carry, and
/// observations one call may add.
pub const MAX_GRAPH_ITEMS: usize = 1000;
/// Entities a read returns at most; `read_graph` pages beyond it.
pub const MAX_GRAPH_PAGE: usize = 1000;

impl MemoryService {
    /// Applies one change to the graph of `user_id` (defaulted like a memory's user).
    pub async fn graph_write(
        &self,
        caller: &Caller,
        user_id: Option<String>,
        op: GraphWrite,
    ) -> Result<GraphWritten> {
        caller.require(Scope::Write)?;
        let user = caller.user_for_write(user_id.as_deref())?;
        validate::id_field(&self.config().limits, "user_id", Some(&user))?;
        self.check_write(&op)?;
        let (tenant, adds) = (caller.tenant.clone(), observations_added_at_most(&op));
        let _running = self.inner.pipeline_state.foreground();
        let written = self
            .blocking(move |i| {
                let written = i.store.graph_write(&tenant, &user, op, Utc::now())?;
                i.catch_up_after_write();
                Ok(written)
            })
            .await?;
        if adds > 0 {
            // Mirror memories were queued for embedding; the pipeline counts what it finds.
            self.queued(added_count(&written));
        }
        Ok(written)
    }

    /// Reads part of the graph of `user_id`.
    pub async fn graph_read(&self, caller: &Caller, user_id: Option<String>, q: GraphRead) -> Result<Graph> {
        caller.require(Scope::Read)?;
        let user = caller.user_for_write(user_id.as_deref())?;
        let limit = match &q {
            GraphRead::Page { limit, .. } | GraphRead::Containing { limit, .. } => *limit,
            GraphRead::Names(names) => names.len(),
        };
        if limit > MAX_GRAPH_PAGE {
            return Err(ServiceError::invalid(
                "invalid_limit",
                format!("at most {MAX_GRAPH_PAGE} entities per read"),
            ));
        }
        let tenant = caller.tenant.clone();
        self.blocking(move |i| Ok(i.store.graph_read(&tenant, &user, &q)?)).await
    }

    /// The entities whose observations best match `query` by meaning and keywords (hybrid
    /// search over the mirror memories), best first, with the relations touching them.
    pub async fn graph_search(
        &self,
        caller: &Caller,
        user_id: Option<String>,
        query: String,
        limit: usize,
    ) -> Result<Graph> {
        let user = caller.user_for_write(user_id.as_deref())?;
        let top_k = (limit * 3).clamp(1, self.config().search.max_top_k);
        let filter = FilterParams {
            user_id: Some(user.clone()),
            tags: vec![GRAPH_TAG.into()],
            ..FilterParams::default()
        };
        let req = SearchRequest { query, filter, top_k: Some(top_k), mode: SearchMode::Hybrid, fusion: None };
        let hits = self.search(caller, req).await?.results;
        let mut rank: HashMap<String, usize> = HashMap::new();
        for name in hits.iter().filter_map(|h| h.memory.metadata.get(GRAPH_ENTITY_KEY)?.as_str()) {
            let next = rank.len();
            if next < limit {
                rank.entry(name.to_owned()).or_insert(next);
            }
        }
        let mut names: Vec<String> = rank.keys().cloned().collect();
        names.sort_by_key(|n| rank[n]);
        let mut graph = self.graph_read(caller, Some(user), GraphRead::Names(names)).await?;
        graph.entities.sort_by_key(|e| rank.get(&e.name).copied().unwrap_or(usize::MAX));
        Ok(graph)
    }

    fn check_write(&self, op: &GraphWrite) -> Result<()> {
        let cfg = self.config();
        let l = &cfg.limits;
        let name = |field: &str, s: &str| {
            if s.len() > l.max_id_bytes {
                return Err(ServiceError::invalid(
                    "invalid_graph",
                    format!("{field} is {} bytes; the limit is {}", s.len(), l.max_id_bytes),
                ));
            }
            Ok(())
        };
        let items = match op {
            GraphWrite::CreateEntities(v) => {
                v.iter().try_for_each(|e| {
                    name("name", &e.name)?;
                    name("entityType", &e.entity_type)?;
                    e.observations.iter().try_for_each(|o| validate::content(l, o))
                })?;
                v.len()
            }
            GraphWrite::CreateRelations(v) | GraphWrite::DeleteRelations(v) => {
                v.iter().try_for_each(|r| {
                    name("from", &r.from)?;
                    name("to", &r.to)?;
                    name("relationType", &r.relation_type)
                })?;
                v.len()
            }
            GraphWrite::AddObservations(v) => {
                v.iter().try_for_each(|a| a.contents.iter().try_for_each(|o| validate::content(l, o)))?;
                v.len()
            }
            GraphWrite::DeleteEntities(v) => v.len(),
            GraphWrite::DeleteObservations(v) => v.len(),
        };
        let adds = observations_added_at_most(op);
        if items > MAX_GRAPH_ITEMS || adds > MAX_GRAPH_ITEMS {
            return Err(ServiceError::invalid(
                "invalid_graph",
                format!("at most {MAX_GRAPH_ITEMS} items and {MAX_GRAPH_ITEMS} observations per call"),
            ));
        }
        Ok(())
    }
}

/// Observations a write may add (each becomes a memory).
fn observations_added_at_most(op: &GraphWrite) -> usize {
    match op {
        GraphWrite::CreateEntities(v) => v.iter().map(|e| e.observations.len()).sum(),
        GraphWrite::AddObservations(v) => v.iter().map(|a| a.contents.len()).sum(),
        GraphWrite::CreateRelations(_)
        | GraphWrite::DeleteEntities(_)
        | GraphWrite::DeleteObservations(_)
        | GraphWrite::DeleteRelations(_) => 0,
    }
}

/// Observations a write added.
fn added_count(w: &GraphWritten) -> usize {
    match w {
        GraphWritten::Entities(v) => v.iter().map(|e| e.observations.len()).sum(),
        GraphWritten::Observations(v) => v.iter().map(|a| a.added_observations.len()).sum(),
        GraphWritten::Relations(_) | GraphWritten::Deleted => 0,
    }
}
