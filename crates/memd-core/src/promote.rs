//! Promote: the top-K memories a user's agent should carry into its context for a goal and a
//! set of tags, optionally widening the tags through their co-occurrence neighbours. Also the tag
//! listing with counts and neighbours.

use std::collections::HashSet;

use chrono::Utc;
use memd_store::{Memory, Scope, TagCount, TagMatch};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::search::{Scores, SearchHit, SearchMode};
use crate::service::{FilterParams, MemoryService, Result};
use crate::ServiceError;

/// Neighbours taken per requested tag when expanding.
const NEIGHBOURS_PER_TAG: usize = 3;

#[derive(Clone, Debug, PartialEq)]
pub struct PromoteRequest {
    pub user_id: Option<String>,
    pub goal: Option<String>,
    pub tags: Vec<String>,
    pub k: Option<usize>,
    /// Widen `tags` with co-occurring tags.
    pub expand_neighbours: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromoteResponse {
    pub memories: Vec<SearchHit>,
    /// The tags actually used (requested plus neighbours).
    pub tags: Vec<String>,
    pub expanded: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TagInfo {
    pub tag: String,
    pub count: u64,
    pub neighbours: Vec<TagCount>,
}

impl MemoryService {
    pub async fn promote(&self, caller: &Caller, req: PromoteRequest) -> Result<PromoteResponse> {
        caller.require(Scope::Read)?;
        let k = self.top_k(req.k)?;
        let user = caller.user_for_read(req.user_id.as_deref())?;
        let mut tags = req.tags.clone();
        let expanded = req.expand_neighbours && !tags.is_empty();
        if expanded {
            tags = self.expand(caller, user.clone(), tags).await?;
        }
        let params = FilterParams {
            user_id: user,
            tags: tags.clone(),
            tag_match: TagMatch::Any,
            ..Default::default()
        };
        let filter = self.filter(caller, params.clone())?;
        let goal = req.goal.as_deref().map(str::trim).filter(|g| !g.is_empty());
        let mut memories = match goal {
            Some(goal) => {
                crate::validate::content(&self.config().limits, goal)?;
                self.see_other_writers().await?;
                let (fused, _, _) =
                    self.candidates(caller, goal, &filter, SearchMode::Hybrid, None, k).await?;
                self.materialise(caller, fused, filter, k).await?
            }
            None => Vec::new(),
        };
        if memories.len() < k {
            self.fill_recent(caller, params, &req.tags, k, &mut memories).await?;
        }
        Ok(PromoteResponse { memories, tags, expanded })
    }

    /// Adds the most recent matching memories (requested tags before neighbour tags) until `k`.
    async fn fill_recent(
        &self,
        caller: &Caller,
        params: FilterParams,
        requested: &[String],
        k: usize,
        out: &mut Vec<SearchHit>,
    ) -> Result<()> {
        let page =
            self.list(caller, params, None, Some((k * 4).min(self.config().limits.max_list_limit))).await?;
        let have: HashSet<_> = out.iter().map(|h| h.memory.id).collect();
        let direct = |m: &Memory| requested.is_empty() || m.tags.iter().any(|t| requested.contains(t));
        let (first, second): (Vec<Memory>, Vec<Memory>) =
            page.items.into_iter().filter(|m| !have.contains(&m.id)).partition(|m| direct(m));
        for memory in first.into_iter().chain(second).take(k - out.len()) {
            out.push(SearchHit { memory, score: 0.0, scores: Scores::default() });
        }
        Ok(())
    }

    async fn expand(&self, caller: &Caller, user: Option<String>, tags: Vec<String>) -> Result<Vec<String>> {
        let tenant = caller.tenant.clone();
        self.blocking(move |i| {
            let now = Utc::now();
            let mut out = tags.clone();
            for t in &tags {
                for n in i.store.tag_neighbours(&tenant, user.as_deref(), t, NEIGHBOURS_PER_TAG, now)? {
                    if !out.contains(&n.tag) {
                        out.push(n.tag);
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    /// Tags with counts, most used first, each with up to `neighbours` co-occurring tags.
    pub async fn tags(
        &self,
        caller: &Caller,
        user_id: Option<String>,
        limit: usize,
        neighbours: usize,
    ) -> Result<Vec<TagInfo>> {
        caller.require(Scope::Read)?;
        if limit == 0 || limit > 1000 || neighbours > 50 {
            return Err(ServiceError::invalid("invalid_limit", "limit must be 1-1000 and neighbours 0-50"));
        }
        let user = caller.user_for_read(user_id.as_deref())?;
        let tenant = caller.tenant.clone();
        self.blocking(move |i| {
            let now = Utc::now();
            let counts = i.store.tag_counts(&tenant, user.as_deref(), now)?;
            counts
                .into_iter()
                .take(limit)
                .map(|c| {
                    let neighbours = if neighbours == 0 {
                        Vec::new()
                    } else {
                        i.store.tag_neighbours(&tenant, user.as_deref(), &c.tag, neighbours, now)?
                    };
                    Ok(TagInfo { tag: c.tag, count: c.count, neighbours })
                })
                .collect()
        })
        .await
    }
}
