//! The crate's integration tests: the whole conformance suite against `SqliteStore` on a
//! temporary file (one test per case), plus what only a file backend has — reopening, migrations
//! and a second process-like connection.

use std::path::Path;

use chrono::Utc;
use memd_store::conformance::{self, CASES};
use memd_store::sqlite::{Durability, SqliteOptions, SqliteStore, SCHEMA_VERSION};
use memd_store::{EmbeddingWrite, ListQuery, MemoryPatch, NewMemory, Store, StoreError, TenantId};
use tempfile::TempDir;

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, SqliteOptions { durability: Durability::Full, readers: 2 }).expect("open")
}

fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("memd.db"));
    (dir, store)
}

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let (_dir, store) = fresh();
                conformance::$case(&store);
            }
        )*

        #[test]
        fn every_case_has_a_test() {
            let listed = [$(stringify!($case)),*];
            let all: Vec<&str> = CASES.iter().map(|(name, _)| *name).collect();
            assert_eq!(listed.to_vec(), all, "list every conformance case in cases!{{}}");
        }
    };
}

cases!(
    insert_get_roundtrip,
    batch_insert_atomic,
    tenant_isolation,
    update_versions_history_changes,
    delete_tombstones,
    delete_scoped_respects_scope,
    expiry_excluded,
    adjacent_in_insertion_order,
    list_pagination,
    filters_match_reference,
    tag_stats,
    change_log,
    embedding_queue_lifecycle,
    requeue_for_model,
    scan_vectors,
    scan_memories,
    keys_lifecycle,
    graph_reference_semantics,
    graph_isolation,
    graph_paging,
    graph_mirror_memories,
    events_lifecycle,
    perf_history,
    silences_lifecycle,
);

#[test]
fn run_all_in_memory() {
    conformance::run_all(&|| Box::new(SqliteStore::open_in_memory().expect("in-memory store")));
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("memd.db");
    let (t, now) = (TenantId::new("acme").expect("tenant"), Utc::now());
    let (m, seq) = {
        let s = open(&path);
        let new = NewMemory { user_id: "u".into(), content: "kept".into(), ..Default::default() };
        let m = s.insert(&t, vec![new.clone(), new], now).expect("insert");
        let patch = MemoryPatch { tags: Some(vec!["x".into()]), ..Default::default() };
        s.update(&t, m[0].id, patch, now).expect("update");
        s.delete(&t, m[1].id, now).expect("delete");
        let w = EmbeddingWrite { tenant: t.clone(), memory_id: m[0].id, version: 2, vector: vec![1.0] };
        assert_eq!(s.put_embeddings("e", &[w]).expect("put"), 1);
        (s.get(&t, m[0].id, now).expect("get").expect("live"), s.max_seq().expect("seq"))
    };
    let s = open(&path);
    assert_eq!(s.get(&t, m.id, now).expect("get"), Some(m.clone()));
    assert_eq!(s.max_seq().expect("seq"), seq);
    assert_eq!(s.history(&t, m.id).expect("history").len(), 2);
    assert_eq!(
        s.list(&t, &ListQuery { limit: 10, ..Default::default() }, now).expect("list").items,
        vec![m.clone()]
    );
    assert!(s.vector_of(&t, m.id, "e", now).expect("vector").is_some());
    assert_eq!(s.pending_count().expect("pending"), 0);
}

#[test]
fn migrations_are_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("memd.db");
    for _ in 0..3 {
        let s = open(&path);
        assert_eq!(s.schema_version().expect("version"), SCHEMA_VERSION);
    }
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("memd.db");
    drop(open(&path));
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("bump");
    drop(raw);
    match SqliteStore::open(&path, SqliteOptions::default()) {
        Err(StoreError::Invalid(msg)) => assert!(msg.contains("newer memd"), "{msg}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[test]
fn two_stores_share_one_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("memd.db");
    let (a, b) = (open(&path), open(&path));
    let (t, now) = (TenantId::new("acme").expect("tenant"), Utc::now());
    let new = NewMemory { user_id: "u".into(), content: "shared".into(), ..Default::default() };
    let m = a.insert(&t, vec![new.clone()], now).expect("insert via a");
    assert_eq!(b.get(&t, m[0].id, now).expect("get via b"), Some(m[0].clone()));
    b.insert(&t, vec![new], now).expect("insert via b");
    assert_eq!(a.count(&t).expect("count"), 2);
}

#[test]
fn each_store_on_a_file_sees_the_others_commits_in_the_seq_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("memd.db");
    let (a, b) = (open(&path), open(&path));
    let (t, now) = (TenantId::new("acme").expect("tenant"), Utc::now());
    assert_eq!((a.committed_seq_hint(), b.committed_seq_hint()), (Some(0), Some(0)));
    let new = NewMemory { user_id: "u".into(), content: "shared".into(), ..Default::default() };
    a.insert(&t, vec![new.clone()], now).expect("insert via a");
    let head = a.max_seq().expect("max seq");
    assert!(head > 0);
    assert_eq!(b.committed_seq_hint(), Some(head), "b learns of a's commit without a query");
    b.insert(&t, vec![new], now).expect("insert via b");
    assert_eq!(a.committed_seq_hint(), Some(b.max_seq().expect("max seq")));
    drop((a, b));
    // A store opened later starts from the log's head, whatever the counter file says.
    std::fs::remove_file(dir.path().join("memd.db-seq")).expect("remove the counter file");
    let c = open(&path);
    assert_eq!(c.committed_seq_hint(), Some(c.max_seq().expect("max seq")));
    assert_eq!(SqliteStore::open_in_memory().expect("in memory").committed_seq_hint(), None);
}

#[test]
fn durability_serde_is_lowercase() {
    let d: Durability = serde_json::from_str("\"normal\"").expect("parse");
    assert_eq!(d, Durability::Normal);
    assert_eq!(Durability::default(), Durability::Full);
}

/// Latency of acknowledged single-memory inserts at concurrency 8 (`Durability::Full`) and of
/// reads over a 100k-memory tenant. Run with
/// `cargo test -p memd-store --release --test sqlite_conformance -- --ignored --nocapture perf`.
#[test]
#[ignore]
fn perf_insert_and_read() {
    use std::sync::Arc;
    use std::time::Instant;

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(open(&dir.path().join("memd.db")));
    let t = TenantId::new("acme").expect("tenant");
    let pct = |mut v: Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 - 1.0) * p) as usize]
    };
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let (store, t) = (store.clone(), t.clone());
            std::thread::spawn(move || {
                (0..250)
                    .map(|i| {
                        let new = NewMemory {
                            user_id: format!("u{}", i % 10),
                            content: format!("worker {w} memory {i} with some text"),
                            tags: vec![format!("t{}", i % 7), format!("t{}", i % 3)],
                            ..Default::default()
                        };
                        let start = Instant::now();
                        store.insert(&t, vec![new], Utc::now()).expect("insert");
                        start.elapsed().as_secs_f64() * 1000.0
                    })
                    .collect::<Vec<f64>>()
            })
        })
        .collect();
    let lat: Vec<f64> = threads.into_iter().flat_map(|h| h.join().expect("join")).collect();
    println!(
        "insert c=8 Full: p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms",
        pct(lat.clone(), 0.5),
        pct(lat.clone(), 0.95),
        pct(lat, 0.99)
    );

    let start = Instant::now();
    for chunk in 0..98 {
        let batch = (0..1000)
            .map(|i| NewMemory {
                user_id: format!("u{}", i % 10),
                content: format!("bulk {chunk} {i}"),
                tags: vec![format!("t{}", i % 7), format!("t{}", (i + chunk) % 11)],
                metadata: serde_json::json!({"n": i % 5}).as_object().cloned().unwrap_or_default(),
                ..Default::default()
            })
            .collect();
        store.insert(&t, batch, Utc::now()).expect("bulk insert");
    }
    println!("bulk 98k in {:.2} s", start.elapsed().as_secs_f64());
    let time = |name: &str, f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..20 {
            f();
        }
        println!("{name}: {:.2} ms", start.elapsed().as_secs_f64() * 1000.0 / 20.0);
    };
    let now = Utc::now();
    let q = |filter: memd_store::Filter| ListQuery { filter, cursor: None, limit: 50 };
    time("list newest 50", &|| drop(store.list(&t, &q(Default::default()), now).expect("list")));
    let user = memd_store::Filter { user_id: Some("u3".into()), ..Default::default() };
    time("list user 50", &|| drop(store.list(&t, &q(user.clone()), now).expect("list")));
    let tag = memd_store::Filter {
        tags: vec!["t5".into(), "t9".into()],
        tag_match: memd_store::TagMatch::All,
        ..Default::default()
    };
    time("list tags all 50", &|| drop(store.list(&t, &q(tag.clone()), now).expect("list")));
    let meta = memd_store::Filter {
        metadata: serde_json::json!({"n": 3}).as_object().cloned().unwrap_or_default(),
        ..Default::default()
    };
    time("list metadata 50", &|| drop(store.list(&t, &q(meta.clone()), now).expect("list")));
    time("tag_counts", &|| drop(store.tag_counts(&t, None, now).expect("tags")));
    time("tag_counts user", &|| drop(store.tag_counts(&t, Some("u3"), now).expect("tags")));
    time("tag_neighbours", &|| drop(store.tag_neighbours(&t, None, "t5", 10, now).expect("nb")));
    time("count", &|| assert!(store.count(&t).expect("count") > 0));
}

/// Several processes (here: threads, each with its own connections) creating the same new
/// database at once all open it: the one that loses the race to switch the file to WAL waits
/// for the other instead of failing with "database is locked".
#[test]
fn concurrent_first_opens_of_one_new_file_all_succeed() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("memd.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteStore::open(&path, SqliteOptions { durability: Durability::Full, readers: 1 })
                        .map(drop)
                })
            })
            .collect();
        for open in opens {
            open.join().expect("thread").expect("every concurrent first open succeeds");
        }
    }
}
