//! Per-minute performance aggregates (requests, errors, a latency histogram) by series — a route
//! template, or `search_cache` (lookups and misses) — kept for `/api/performance` without an
//! external Prometheus. Bounded: one row per series and minute, pruned by age.

use serde::{Deserialize, Serialize};

/// The series that counts result-cache lookups (`requests`) and misses (`errors`).
pub const SEARCH_CACHE_SERIES: &str = "search_cache";

/// One series' minute.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerfMinute {
    /// Unix time in whole minutes.
    pub minute: i64,
    pub series: String,
    pub requests: u64,
    pub errors: u64,
    /// Counts per latency bucket (the bounds are the recorder's; empty when not timed).
    pub latency: Vec<u64>,
}

impl PerfMinute {
    /// Adds `other` (same series) into this one.
    pub fn merge(&mut self, other: &PerfMinute) {
        self.requests += other.requests;
        self.errors += other.errors;
        if self.latency.len() < other.latency.len() {
            self.latency.resize(other.latency.len(), 0);
        }
        for (mine, theirs) in self.latency.iter_mut().zip(&other.latency) {
            *mine += theirs;
        }
    }
}
