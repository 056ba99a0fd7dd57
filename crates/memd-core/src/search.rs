//! Hybrid retrieval: BM25 and dense cosine run concurrently, are fused (reciprocal-rank or
//! weighted), then post-filtered against the store (metadata, expiry, user binding). When the
//! semantic side is unavailable the answer is keyword-only and says `degraded: true`.
//!
//! A hybrid search also expands its keyword query by pseudo-relevance feedback and, after fusion,
//! adds the conversation-context signal ([`crate::context`]), so it may return memories that
//! share no word with the query. The keyword and semantic modes are the single signals, plain.

use std::time::Instant;

use chrono::Utc;
use memd_index::{Feedback, Hit};
use memd_store::{Filter, Memory, Scope};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::context::{self, ContextParams};
use crate::fusion::{self, Fused, FusionMethod, FusionParams};
use crate::metrics as m;
use crate::result_cache::KeyParts;
use crate::service::{FilterParams, MemoryService, Result};
use crate::ServiceError;

/// How many of the best fused candidates (at least `top_k`) have their neighbours looked up for
/// the conversation-context signal.
const CONTEXT_POOL: usize = 50;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    #[default]
    Hybrid,
    Semantic,
    Keyword,
}

impl SearchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Hybrid => "hybrid",
            SearchMode::Semantic => "semantic",
            SearchMode::Keyword => "keyword",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchRequest {
    pub query: String,
    pub filter: FilterParams,
    pub top_k: Option<usize>,
    pub mode: SearchMode,
    /// Overrides the configured fusion method for this query.
    pub fusion: Option<FusionMethod>,
}

/// Per-signal scores of one result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// BM25 score, when the lexical index returned the memory.
    pub keyword: Option<f32>,
    /// Cosine similarity, when the vector index returned the memory.
    pub semantic: Option<f32>,
    /// The fused score the results are ordered by.
    pub fused: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    pub memory: Memory,
    pub score: f32,
    pub scores: Scores,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SearchResponse {
    pub results: Vec<SearchHit>,
    /// True when the semantic signal was wanted but not available.
    pub degraded: bool,
    /// The mode actually used.
    pub mode: SearchMode,
}

impl MemoryService {
    pub async fn search(&self, caller: &Caller, req: SearchRequest) -> Result<SearchResponse> {
        caller.require(Scope::Read)?;
        let started = Instant::now();
        let query = req.query.trim().to_owned();
        if query.is_empty() {
            return Err(ServiceError::invalid("invalid_query", "query must not be empty"));
        }
        crate::validate::content(&self.config().limits, &query)?;
        let top_k = self.top_k(req.top_k)?;
        let filter = self.filter(caller, req.filter)?;
        let mode_label = req.mode.as_str();
        ::metrics::counter!(m::SEARCH_TOTAL, "mode" => mode_label).increment(1);
        let cache = &self.inner.result_cache;
        let cfg = self.config();
        let (mode, fusion, settings) = (req.mode, req.fusion, &cfg.search);
        let parts = KeyParts { caller, query: &query, filter: &filter, mode, fusion, top_k, settings };
        let key = cache.key(parts);
        self.see_other_writers().await?;
        // Read before searching: a write landing meanwhile makes this entry stale at once.
        let generation = self.inner.indexer.generation(&caller.tenant);
        let cached = key.as_ref().and_then(|k| cache.get(k, generation));
        if key.is_some() {
            self.inner.perf.cache_lookup(cached.is_some());
        }
        let response = match cached {
            Some(cached) => cached,
            None => {
                let _running = self.inner.pipeline_state.foreground();
                let (fused, mode, degraded) =
                    self.candidates(caller, &query, &filter, req.mode, req.fusion, top_k).await?;
                // Context needs every linked memory to pass the filter; the indexes cannot judge
                // metadata conditions (materialise does), so a metadata filter turns it off.
                // On the requested mode: a hybrid search degraded to keywords (no semantic side)
                // keeps its context, which does not depend on the semantic signal.
                let fused = match req.mode {
                    SearchMode::Hybrid if filter.metadata.is_empty() => {
                        self.with_context(caller, fused).await?
                    }
                    SearchMode::Hybrid | SearchMode::Keyword | SearchMode::Semantic => fused,
                };
                let results = self.materialise(caller, fused, filter, top_k).await?;
                let response = SearchResponse { results, degraded, mode };
                if let Some(key) = key {
                    cache.put(key, generation, &response);
                }
                response
            }
        };
        if response.degraded {
            ::metrics::counter!(m::SEARCH_DEGRADED_TOTAL).increment(1);
        }
        ::metrics::histogram!(m::SEARCH_SECONDS, "mode" => mode_label)
            .record(started.elapsed().as_secs_f64());
        Ok(response)
    }

    pub(crate) fn top_k(&self, k: Option<usize>) -> Result<usize> {
        let cfg = self.config();
        let s = &cfg.search;
        let k = k.unwrap_or(s.default_top_k);
        if k == 0 || k > s.max_top_k {
            return Err(ServiceError::invalid("invalid_top_k", format!("top_k must be 1-{}", s.max_top_k)));
        }
        Ok(k)
    }

    /// Runs the wanted signals and fuses them. Returns (fused, effective mode, degraded).
    pub(crate) async fn candidates(
        &self,
        caller: &Caller,
        query: &str,
        filter: &Filter,
        mode: SearchMode,
        fusion_method: Option<FusionMethod>,
        top_k: usize,
    ) -> Result<(Vec<Fused>, SearchMode, bool)> {
        let cfg = self.config();
        let s = &cfg.search;
        let mut n = s.candidates.max(top_k * 3);
        if !filter.metadata.is_empty() {
            n = (n * 5).min(10_000);
        }
        let want_kw = mode != SearchMode::Semantic;
        let want_sem = mode != SearchMode::Keyword;
        let kw = async {
            if want_kw {
                let feedback = mode == SearchMode::Hybrid;
                self.keyword_hits(caller, query, filter, n, feedback).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let sem = async {
            if want_sem {
                self.semantic_hits(caller, query, filter, n).await
            } else {
                Ok(None)
            }
        };
        let (kw, sem) = tokio::join!(kw, sem);
        let (kw, sem) = (kw?, sem?);
        let params = FusionParams {
            method: fusion_method.unwrap_or(s.fusion),
            rrf_k: s.rrf_k,
            semantic_weight: s.semantic_weight,
        };
        Ok(match (kw, sem) {
            (Some(k), Some(v)) => (fusion::fuse(&k, &v, params), SearchMode::Hybrid, false),
            (Some(k), None) => (fusion::single(&k, false), SearchMode::Keyword, want_sem),
            (None, Some(v)) => (fusion::single(&v, true), SearchMode::Semantic, false),
            (None, None) => {
                // Semantic-only request with the semantic side down: fall back to keywords.
                let k = self.keyword_hits(caller, query, filter, n, false).await?;
                (fusion::single(&k, false), SearchMode::Keyword, true)
            }
        })
    }

    /// BM25 hits. With `feedback` and a non-zero `search.feedback_docs`, those of a second search
    /// whose query is expanded from the text of the first one's best hits the caller may see.
    async fn keyword_hits(
        &self,
        caller: &Caller,
        q: &str,
        f: &Filter,
        n: usize,
        feedback: bool,
    ) -> Result<Vec<Hit>> {
        let (c, q, f) = (caller.clone(), q.to_owned(), f.clone());
        let cfg = self.config();
        let s = &cfg.search;
        let (docs, weight) = (if feedback { s.feedback_docs } else { 0 }, s.feedback_weight);
        self.blocking(move |i| {
            let lexical = i.indexer.lexical();
            let hits = lexical.search(&c.tenant, &q, &f, n)?;
            if docs == 0 || weight <= 0.0 || hits.is_empty() {
                return Ok(hits);
            }
            let top: Vec<_> = hits.iter().take(docs).map(|h| h.id).collect();
            let score = |id| hits.iter().find(|h| h.id == id).map_or(0.0, |h| h.score);
            let found = i.store.get_many(&c.tenant, &top, Utc::now())?;
            let docs: Vec<_> = found
                .into_iter()
                .filter(|m| f.matches(m) && c.can_see(m))
                .map(|m| {
                    let s = score(m.id);
                    (m.content, s)
                })
                .collect();
            if docs.is_empty() {
                // Nothing the caller may see to learn from: the expanded search would be the same.
                return Ok(hits);
            }
            Ok(lexical.search_with_feedback(&c.tenant, &q, &Feedback { docs, weight }, &f, n)?)
        })
        .await
    }

    /// `None` when no embedder is configured or it failed (the caller degrades).
    async fn semantic_hits(
        &self,
        caller: &Caller,
        q: &str,
        f: &Filter,
        n: usize,
    ) -> Result<Option<Vec<Hit>>> {
        if self.inner.embedder.is_none() {
            return Ok(None);
        }
        let (tenant, q, f) = (caller.tenant.clone(), q.to_owned(), f.clone());
        let r = self
            .blocking(move |i| {
                let Some(embedder) = &i.embedder else { return Ok(None) };
                let v = i.query_cache.get_or_embed(embedder.as_ref(), &q)?;
                Ok(Some(i.indexer.vector().search(&tenant, &v, &f, n)?))
            })
            .await;
        match r {
            Ok(hits) => Ok(hits),
            Err(ServiceError::Unavailable(msg)) => {
                tracing::warn!(event = "semantic_unavailable", error_type = "embed", error = %msg);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Adds the conversation-context signal ([`crate::context`]) to the fused ranking: the
    /// neighbours of its best [`CONTEXT_POOL`] candidates are looked up in the store (a bound
    /// amount of store work, whatever `top_k`; a larger pool measured no better on LoCoMo).
    async fn with_context(&self, caller: &Caller, fused: Vec<Fused>) -> Result<Vec<Fused>> {
        let cfg = self.config();
        let s = &cfg.search;
        if s.context_weight <= 0.0 || fused.is_empty() {
            return Ok(fused);
        }
        let params = ContextParams {
            weight: s.context_weight,
            gap: i64::try_from(s.context_gap_secs)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .unwrap_or(chrono::Duration::MAX),
        };
        let tenant = caller.tenant.clone();
        self.blocking(move |i| {
            let ids: Vec<_> = fused.iter().take(CONTEXT_POOL).map(|f| f.id).collect();
            let adjacent = i.store.adjacent(&tenant, &ids, Utc::now())?;
            let links = context::links(&adjacent, params.gap);
            Ok(context::apply(&fused, &links, params.weight))
        })
        .await
    }

    /// Loads fused candidates from the store in rank order, drops what the filter, expiry or the
    /// caller's binding exclude, and returns the first `top_k`.
    pub(crate) async fn materialise(
        &self,
        caller: &Caller,
        fused: Vec<Fused>,
        filter: Filter,
        top_k: usize,
    ) -> Result<Vec<SearchHit>> {
        let c = caller.clone();
        self.blocking(move |i| {
            let now = Utc::now();
            let mut out = Vec::with_capacity(top_k);
            let chunk = top_k * 2 + 8;
            for part in fused.chunks(chunk) {
                let ids: Vec<_> = part.iter().map(|f| f.id).collect();
                let found = i.store.get_many(&c.tenant, &ids, now)?;
                let mut by_id: std::collections::HashMap<_, _> =
                    found.into_iter().map(|m| (m.id, m)).collect();
                for f in part {
                    let Some(memory) = by_id.remove(&f.id) else { continue };
                    if !filter.matches(&memory) || !c.can_see(&memory) {
                        continue;
                    }
                    let scores = Scores { keyword: f.keyword, semantic: f.semantic, fused: f.score };
                    out.push(SearchHit { memory, score: f.score, scores });
                    if out.len() == top_k {
                        return Ok(out);
                    }
                }
            }
            Ok(out)
        })
        .await
    }
}
