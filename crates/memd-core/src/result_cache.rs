//! A bounded cache of whole search responses, for queries that repeat (agents re-ask the same
//! question every turn; dashboards poll).
//!
//! Correctness comes from the indexer's per-tenant generation, not from a time-to-live: an entry
//! records the generation read *before* its search ran and is served only while the tenant's
//! generation is still that number, so any write, embedding or rebuild that reaches the indexes
//! makes every older entry of that tenant a miss. An entry holding a memory with `expires_at`
//! lapses at the earliest such time, so an expired memory is never served. Degraded
//! (keyword-only fallback) answers are not cached: they would outlive the outage.
//!
//! The key holds everything that shapes the answer: tenant, the caller's user binding, the
//! query, the effective filter, mode, fusion, `top_k` and the search settings in effect (so a
//! configuration reload that retunes ranking is never answered from before it). The size is bounded in bytes
//! (`search.result_cache_mb`; 0 disables it).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use memd_store::Filter;
use moka::sync::Cache;

use crate::auth::Caller;
use crate::config::SearchConfig;
use crate::fusion::FusionMethod;
use crate::metrics as m;
use crate::search::{SearchMode, SearchResponse};

struct Entry {
    generation: u64,
    /// The earliest `expires_at` among the returned memories.
    valid_until: Option<DateTime<Utc>>,
    response: SearchResponse,
}

pub(crate) struct ResultCache {
    cache: Option<Cache<Arc<str>, Arc<Entry>>>,
}

/// What identifies one search's answer.
pub(crate) struct KeyParts<'a> {
    pub caller: &'a Caller,
    pub query: &'a str,
    pub filter: &'a Filter,
    pub mode: SearchMode,
    pub fusion: Option<FusionMethod>,
    pub top_k: usize,
    pub settings: &'a SearchConfig,
}

/// [`KeyParts`] rendered once per search, for both the lookup and the insert.
pub(crate) struct CacheKey(Arc<str>);

impl KeyParts<'_> {
    fn encode(&self) -> CacheKey {
        // Debug output of these types is a faithful, unambiguous rendering (strings are quoted
        // and escaped), so equal keys mean equal requests.
        CacheKey(
            format!(
                "{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{}\u{0}{:?}",
                self.caller.tenant.as_str(),
                self.caller.bound_user,
                self.query,
                self.filter,
                self.mode,
                self.fusion,
                self.top_k,
                self.settings
            )
            .into(),
        )
    }
}

impl ResultCache {
    pub fn new(max_mb: u64) -> Self {
        let cache = (max_mb > 0).then(|| {
            Cache::builder()
                .max_capacity(max_mb << 20)
                .weigher(|k: &Arc<str>, e: &Arc<Entry>| weight(k, e))
                .build()
        });
        Self { cache }
    }

    /// The key of a search, or `None` when caching is off (nothing to render then).
    pub fn key(&self, parts: KeyParts<'_>) -> Option<CacheKey> {
        self.cache.is_some().then(|| parts.encode())
    }

    /// The cached response, if one exists for `key` at `generation` and has not lapsed.
    pub fn get(&self, key: &CacheKey, generation: u64) -> Option<SearchResponse> {
        let cache = self.cache.as_ref()?;
        let hit = cache
            .get(&key.0)
            .filter(|e| e.generation == generation && e.valid_until.is_none_or(|t| Utc::now() < t));
        let outcome = if hit.is_some() { "hit" } else { "miss" };
        ::metrics::counter!(m::SEARCH_RESULT_CACHE_TOTAL, "outcome" => outcome).increment(1);
        hit.map(|e| e.response.clone())
    }

    /// Remembers `response`, computed for `key` with the tenant at `generation`.
    pub fn put(&self, key: CacheKey, generation: u64, response: &SearchResponse) {
        let Some(cache) = &self.cache else { return };
        if response.degraded {
            return;
        }
        let valid_until = response.results.iter().filter_map(|h| h.memory.expires_at).min();
        let entry = Entry { generation, valid_until, response: response.clone() };
        cache.insert(key.0, Arc::new(entry));
    }
}

/// Approximate bytes an entry holds (moka weights are u32).
fn weight(key: &str, e: &Entry) -> u32 {
    let results: usize = e
        .response
        .results
        .iter()
        .map(|h| {
            let m = &h.memory;
            256 + m.content.len()
                + m.tags.iter().map(|t| t.len() + 24).sum::<usize>()
                + serde_json::to_string(&m.metadata).map_or(0, |s| s.len())
        })
        .sum();
    u32::try_from(key.len() + 64 + results).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{Scores, SearchHit};
    use memd_store::{Memory, TenantId};

    fn response(expires_at: Option<DateTime<Utc>>, degraded: bool) -> SearchResponse {
        let mut memory = Memory::sample(TenantId::new("t").expect("tenant"), "u", "coffee at 7am");
        memory.expires_at = expires_at;
        let hit = SearchHit { memory, score: 1.0, scores: Scores::default() };
        SearchResponse { results: vec![hit], degraded, mode: SearchMode::Hybrid }
    }

    fn key(caller: &Caller, query: &str, filter: &Filter) -> CacheKey {
        let settings = &SearchConfig::default();
        KeyParts { caller, query, filter, mode: SearchMode::Hybrid, fusion: None, top_k: 10, settings }
            .encode()
    }

    #[test]
    fn serves_only_the_same_request_at_the_same_generation() {
        let cache = ResultCache::new(1);
        let caller = Caller::local();
        let f = Filter::default();
        cache.put(key(&caller, "coffee", &f), 7, &response(None, false));
        assert!(cache.get(&key(&caller, "coffee", &f), 7).is_some());
        assert!(cache.get(&key(&caller, "coffee", &f), 8).is_none(), "a write must invalidate");
        assert!(cache.get(&key(&caller, "coffee ", &f), 7).is_none());
        let other = Filter { user_id: Some("bob".into()), ..Filter::default() };
        assert!(cache.get(&key(&caller, "coffee", &other), 7).is_none());
        let bound = Caller { bound_user: Some("bob".into()), ..Caller::local() };
        assert!(cache.get(&key(&bound, "coffee", &f), 7).is_none());
        let retuned = SearchConfig { semantic_weight: 0.9, ..SearchConfig::default() };
        let parts = |settings| KeyParts {
            caller: &caller,
            query: "coffee",
            filter: &f,
            mode: SearchMode::Hybrid,
            fusion: None,
            top_k: 10,
            settings,
        };
        assert!(cache.get(&parts(&retuned).encode(), 7).is_none(), "reloaded search settings");
        assert!(cache.get(&parts(&SearchConfig::default()).encode(), 7).is_some());
    }

    #[test]
    fn never_serves_expired_memories_or_degraded_answers() {
        let cache = ResultCache::new(1);
        let caller = Caller::local();
        let f = Filter::default();
        let past = Utc::now() - chrono::Duration::seconds(1);
        cache.put(key(&caller, "a", &f), 1, &response(Some(past), false));
        assert!(cache.get(&key(&caller, "a", &f), 1).is_none());
        cache.put(key(&caller, "b", &f), 1, &response(None, true));
        assert!(cache.get(&key(&caller, "b", &f), 1).is_none());
    }

    #[test]
    fn disabled_at_zero() {
        let cache = ResultCache::new(0);
        let caller = Caller::local();
        let f = Filter::default();
        assert!(cache
            .key(KeyParts {
                caller: &caller,
                query: "a",
                filter: &f,
                mode: SearchMode::Hybrid,
                fusion: None,
                top_k: 10,
                settings: &SearchConfig::default(),
            })
            .is_none());
        cache.put(key(&caller, "a", &f), 1, &response(None, false));
        assert!(cache.get(&key(&caller, "a", &f), 1).is_none());
    }
}
