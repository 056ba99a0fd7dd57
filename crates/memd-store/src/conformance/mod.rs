//! The backend conformance suite: behaviour every [`Store`] must show, checked through the trait
//! only, so the PostgreSQL backend runs it unchanged.
//!
//! Each case is a `pub fn(&dyn Store)` that expects a fresh, empty store and panics (like a test
//! assertion) on the first deviation. [`run_all`] runs every case in [`CASES`] on its own store.
//! Times are based on the wall clock (truncated to milliseconds) because a few system-level reads
//! (`count`, scans) judge expiry by it.

mod events;
mod graph;
mod keys;
mod listing;
mod memories;
mod perf;
mod pipeline;

use std::collections::HashSet;

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::{Filter, ListQuery, Memory, NewMemory, Store, TenantId};

pub use events::{events_lifecycle, silences_lifecycle};
pub use graph::{graph_isolation, graph_mirror_memories, graph_paging, graph_reference_semantics};
pub use keys::keys_lifecycle;
pub use listing::{filters_match_reference, list_pagination, tag_stats};
pub use memories::{
    adjacent_in_insertion_order, batch_insert_atomic, delete_scoped_respects_scope, delete_tombstones,
    expiry_excluded, insert_get_roundtrip, tenant_isolation, update_versions_history_changes,
};
pub use perf::perf_history;
pub use pipeline::{change_log, embedding_queue_lifecycle, requeue_for_model, scan_memories, scan_vectors};

/// A conformance case: takes a fresh, empty store.
pub type Case = fn(&dyn Store);

/// Every case, by name.
pub const CASES: &[(&str, Case)] = &[
    ("insert_get_roundtrip", insert_get_roundtrip),
    ("batch_insert_atomic", batch_insert_atomic),
    ("tenant_isolation", tenant_isolation),
    ("update_versions_history_changes", update_versions_history_changes),
    ("delete_tombstones", delete_tombstones),
    ("delete_scoped_respects_scope", delete_scoped_respects_scope),
    ("expiry_excluded", expiry_excluded),
    ("adjacent_in_insertion_order", adjacent_in_insertion_order),
    ("list_pagination", list_pagination),
    ("filters_match_reference", filters_match_reference),
    ("tag_stats", tag_stats),
    ("change_log", change_log),
    ("embedding_queue_lifecycle", embedding_queue_lifecycle),
    ("requeue_for_model", requeue_for_model),
    ("scan_vectors", scan_vectors),
    ("scan_memories", scan_memories),
    ("keys_lifecycle", keys_lifecycle),
    ("graph_reference_semantics", graph_reference_semantics),
    ("graph_isolation", graph_isolation),
    ("graph_paging", graph_paging),
    ("graph_mirror_memories", graph_mirror_memories),
    ("events_lifecycle", events_lifecycle),
    ("perf_history", perf_history),
    ("silences_lifecycle", silences_lifecycle),
];

/// Runs every case, each on a fresh store from `make`.
pub fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    for (name, case) in CASES {
        eprintln!("conformance: {name}");
        let store = make();
        case(store.as_ref());
    }
}

/// The suite's base time: wall-clock now in whole milliseconds.
fn base() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::milliseconds(1)).expect("truncate now")
}

fn tenant(s: &str) -> TenantId {
    TenantId::new(s).expect("valid tenant")
}

fn mem(user: &str, content: &str) -> NewMemory {
    NewMemory { user_id: user.into(), content: content.into(), ..Default::default() }
}

fn tagged(user: &str, content: &str, tags: &[&str]) -> NewMemory {
    NewMemory { tags: tags.iter().map(|t| t.to_string()).collect(), ..mem(user, content) }
}

fn insert_one(s: &dyn Store, t: &TenantId, m: NewMemory, now: DateTime<Utc>) -> Memory {
    let mut out = s.insert(t, vec![m], now).expect("insert");
    assert_eq!(out.len(), 1, "insert returns one memory per item");
    out.remove(0)
}

/// Every page of a listing, asserting the pages neither repeat nor skip and are newest first.
fn list_all(s: &dyn Store, t: &TenantId, filter: &Filter, limit: usize, now: DateTime<Utc>) -> Vec<Memory> {
    let mut q = ListQuery { filter: filter.clone(), cursor: None, limit };
    let mut all: Vec<Memory> = Vec::new();
    loop {
        let page = s.list(t, &q, now).expect("list");
        assert!(page.items.len() <= limit, "a page holds at most `limit` items");
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), limit, "a page with a next cursor is full");
        }
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
        assert!(all.len() <= 100_000, "pagination does not terminate");
    }
    let unique: HashSet<_> = all.iter().map(|m| m.id).collect();
    assert_eq!(unique.len(), all.len(), "pages repeat a memory");
    assert!(
        all.windows(2).all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)),
        "listing is ordered by (created_at, id) descending"
    );
    all
}

/// Sorted the way `list` must return them.
fn newest_first(mut v: Vec<Memory>) -> Vec<Memory> {
    v.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    v
}

fn ids(v: &[Memory]) -> Vec<uuid::Uuid> {
    v.iter().map(|m| m.id).collect()
}
