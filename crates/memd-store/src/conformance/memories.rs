//! Cases for the memory write path and point reads: round trips, atomicity, tenant isolation,
//! updates, tombstones, scoped deletes and expiry.

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::{base, ids, insert_one, list_all, mem, tagged, tenant};
use crate::keys::content_hash;
use crate::{
    ChangeOp, DeleteScope, EmbeddingWrite, Filter, HistoryEvent, MemoryPatch, NewMemory, Store, StoreError,
};

/// Every field survives insert → get, with times at millisecond precision or better.
pub fn insert_get_roundtrip(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let meta = json!({"s": "x", "n": 3, "f": 1.5, "b": true, "o": {"k": [1, "two"]}, "z": null});
    let full = NewMemory {
        user_id: "u1".into(),
        agent_id: Some("agent".into()),
        app_id: Some("app".into()),
        session_id: Some("run-1".into()),
        content: "likes tea — 🍵 and \"quotes\"".into(),
        tags: vec!["food".into(), "drink".into()],
        metadata: meta.as_object().cloned().unwrap_or_default(),
        kind: "reflection".into(),
        cxd: Some("data".into()),
        event_time: Some(now - Duration::days(3) + Duration::milliseconds(7)),
        expires_at: Some(now + Duration::days(30) + Duration::milliseconds(3)),
    };
    let out = s.insert(&t, vec![full.clone(), mem("u2", "plain")], now).expect("insert");
    assert_eq!(out.len(), 2);
    let (a, b) = (&out[0], &out[1]);
    assert_eq!(a.id.get_version_num(), 7, "ids are UUIDv7");
    assert_ne!(a.id, b.id);
    assert_eq!((a.tenant.clone(), a.user_id.as_str()), (t.clone(), "u1"));
    assert_eq!((a.agent_id.clone(), a.app_id.clone()), (full.agent_id, full.app_id));
    assert_eq!(a.session_id, full.session_id);
    assert_eq!((a.content.as_str(), a.tags.clone()), (full.content.as_str(), full.tags));
    assert_eq!(a.content_hash, content_hash(&a.content));
    assert_eq!((a.metadata.clone(), a.kind.as_str()), (full.metadata, "reflection"));
    assert_eq!((a.cxd.clone(), a.event_time, a.expires_at), (full.cxd, full.event_time, full.expires_at));
    assert_eq!((a.created_at, a.updated_at, a.version), (now, now, 1));
    assert_eq!(a.embedding_model, None);
    assert_eq!((b.kind.as_str(), b.event_time, b.expires_at), ("memory", None, None));
    assert_eq!(s.get(&t, a.id, now).expect("get").as_ref(), Some(a));
    assert_eq!(s.get(&t, b.id, now).expect("get").as_ref(), Some(b));
    let many = s.get_many(&t, &[b.id, Uuid::now_v7(), a.id], now).expect("get_many");
    assert_eq!(many, vec![b.clone(), a.clone()], "get_many keeps order and skips unknown ids");
    assert_eq!(s.get(&t, Uuid::now_v7(), now).expect("get"), None);
    assert_eq!(s.count(&t).expect("count"), 2);
}

/// A batch with one item the backend refuses (a NUL character, which no backend may store)
/// stores nothing at all.
pub fn batch_insert_atomic(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let bad = mem("u1", "nul \0 inside");
    let err = s.insert(&t, vec![mem("u1", "fine"), bad], now);
    assert!(matches!(err, Err(StoreError::Invalid(_))), "NUL is refused: {err:?}");
    assert_eq!(s.count(&t).expect("count"), 0, "nothing of a failed batch is stored");
    assert!(list_all(s, &t, &Filter::default(), 10, now).is_empty());
    assert_eq!(s.max_seq().expect("max_seq"), 0, "no change-log rows");
    assert_eq!(s.pending_count().expect("pending"), 0, "no queue rows");
    let mut tagged_bad = mem("u1", "ok");
    tagged_bad.tags = vec!["t\0".into()];
    assert!(s.insert(&t, vec![tagged_bad], now).is_err(), "NUL in a tag is refused");
    let m = insert_one(s, &t, mem("u1", "fine"), now);
    let patch = MemoryPatch { content: Some("x\0".into()), ..Default::default() };
    assert!(matches!(s.update(&t, m.id, patch, now), Err(StoreError::Invalid(_))));
    assert_eq!(s.get(&t, m.id, now).expect("get"), Some(m), "a refused update changes nothing");
}

/// Nothing of one tenant is visible or writable through another.
pub fn tenant_isolation(s: &dyn Store) {
    let (a, b, now) = (tenant("tenant-a"), tenant("tenant-b"), base());
    let m = insert_one(s, &a, tagged("u1", "secret of a", &["x", "y"]), now);
    let vector = EmbeddingWrite { tenant: a.clone(), memory_id: m.id, version: 1, vector: vec![1.0] };
    assert_eq!(s.put_embeddings("e", &[vector]).expect("put"), 1);
    assert_eq!(s.get(&b, m.id, now).expect("get"), None);
    assert!(s.get_many(&b, &[m.id], now).expect("get_many").is_empty());
    let patch = MemoryPatch { content: Some("hijack".into()), ..Default::default() };
    assert!(matches!(s.update(&b, m.id, patch, now), Err(StoreError::NotFound)));
    assert!(matches!(s.delete(&b, m.id, now), Err(StoreError::NotFound)));
    assert!(matches!(s.history(&b, m.id), Err(StoreError::NotFound)));
    assert!(list_all(s, &b, &Filter::default(), 10, now).is_empty());
    assert!(s.tag_counts(&b, None, now).expect("tag_counts").is_empty());
    assert!(s.tag_neighbours(&b, None, "x", 10, now).expect("neighbours").is_empty());
    assert_eq!(s.count(&b).expect("count"), 0);
    assert_eq!(s.vector_of(&b, m.id, "e", now).expect("vector_of"), None);
    let scope = DeleteScope::new(Some("u1".into()), None, None).expect("scope");
    assert_eq!(s.delete_scoped(&b, &scope, now).expect("delete_scoped"), 0);
    let still = s.get(&a, m.id, now).expect("get").expect("a's memory is untouched");
    assert_eq!((still.content.as_str(), still.version), ("secret of a", 1));
    assert!(s.vector_of(&a, m.id, "e", now).expect("vector_of").is_some());
}

/// An update bumps the version and `updated_at`, writes history and a change-log row.
pub fn update_versions_history_changes(s: &dyn Store) {
    let (t, t0) = (tenant("acme"), base() - Duration::hours(1));
    let new = NewMemory { event_time: Some(t0 - Duration::days(1)), ..tagged("u1", "v1", &["old"]) };
    let m = insert_one(s, &t, new, t0);
    let t1 = t0 + Duration::minutes(5);
    let patch = MemoryPatch {
        content: Some("v2".into()),
        tags: Some(vec!["new".into()]),
        metadata: Some(json!({"k": "v"}).as_object().cloned().unwrap_or_default()),
        event_time: Some(None),
        expires_at: None,
    };
    let u = s.update(&t, m.id, patch, t1).expect("update");
    assert_eq!((u.version, u.created_at, u.updated_at), (2, t0, t1));
    assert_eq!((u.content.as_str(), u.content_hash.clone()), ("v2", content_hash("v2")));
    assert_eq!((u.tags.clone(), u.event_time), (vec!["new".to_string()], None));
    assert_eq!(u.metadata.get("k"), Some(&json!("v")));
    assert_eq!(s.get(&t, m.id, t1).expect("get"), Some(u.clone()));
    let h = s.history(&t, m.id).expect("history");
    let events: Vec<_> = h.iter().map(|e| e.event).collect();
    assert_eq!(events, vec![HistoryEvent::Add, HistoryEvent::Update]);
    assert_eq!((h[0].old_content.as_deref(), h[0].new_content.as_deref()), (None, Some("v1")));
    assert_eq!((h[1].old_content.as_deref(), h[1].new_content.as_deref()), (Some("v1"), Some("v2")));
    assert_eq!((h[0].created_at, h[1].created_at), (t0, t1));
    assert!(h.iter().all(|e| e.memory_id == m.id) && h[0].id < h[1].id);
    let ops: Vec<_> = s.changes_since(0, 100).expect("changes").into_iter().map(|c| c.op).collect();
    assert_eq!(ops, vec![ChangeOp::Upsert, ChangeOp::Upsert]);
    let by_tag = |tag: &str| Filter { tags: vec![tag.into()], ..Default::default() };
    assert!(list_all(s, &t, &by_tag("old"), 5, t1).is_empty(), "old tags are gone");
    assert_eq!(ids(&list_all(s, &t, &by_tag("new"), 5, t1)), vec![m.id]);
    let tags_only = MemoryPatch { tags: Some(vec!["newer".into()]), ..Default::default() };
    let u3 = s.update(&t, m.id, tags_only, t1).expect("update tags");
    assert_eq!((u3.version, u3.content.as_str()), (3, "v2"));
    assert!(matches!(s.update(&t, Uuid::now_v7(), MemoryPatch::default(), t1), Err(StoreError::NotFound)));
}

/// Deletion tombstones: the memory disappears from reads but its history remains.
pub fn delete_tombstones(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let keep = insert_one(s, &t, mem("u1", "keep"), now);
    let gone = insert_one(s, &t, mem("u1", "gone"), now);
    let patch = MemoryPatch { content: Some("gone 2".into()), ..Default::default() };
    s.update(&t, gone.id, patch, now).expect("update");
    s.delete(&t, gone.id, now).expect("delete");
    assert_eq!(s.get(&t, gone.id, now).expect("get"), None);
    assert_eq!(ids(&list_all(s, &t, &Filter::default(), 10, now)), vec![keep.id]);
    assert_eq!(s.count(&t).expect("count"), 1);
    let h = s.history(&t, gone.id).expect("history survives deletion");
    let events: Vec<_> = h.iter().map(|e| e.event).collect();
    assert_eq!(events, vec![HistoryEvent::Add, HistoryEvent::Update, HistoryEvent::Delete]);
    assert_eq!((h[2].old_content.as_deref(), h[2].new_content.as_deref()), (Some("gone 2"), None));
    let last = s.changes_since(0, 100).expect("changes").pop().expect("a change");
    assert_eq!((last.op, last.memory_id, last.tenant), (ChangeOp::Delete, gone.id, t.clone()));
    assert!(matches!(s.delete(&t, gone.id, now), Err(StoreError::NotFound)));
    let patch = MemoryPatch { content: Some("zombie".into()), ..Default::default() };
    assert!(matches!(s.update(&t, gone.id, patch, now), Err(StoreError::NotFound)));
    assert!(matches!(s.history(&t, Uuid::now_v7()), Err(StoreError::NotFound)));
}

/// A scoped delete removes exactly the live memories of its scope in its tenant.
pub fn delete_scoped_respects_scope(s: &dyn Store) {
    let (a, b, now) = (tenant("a"), tenant("b"), base());
    let with = |user: &str, agent: Option<&str>, session: Option<&str>| NewMemory {
        agent_id: agent.map(Into::into),
        session_id: session.map(Into::into),
        ..mem(user, "x")
    };
    let items = vec![
        with("u1", Some("ag"), Some("s1")),
        with("u1", Some("ag"), Some("s2")),
        with("u1", None, Some("s1")),
        with("u2", Some("ag"), Some("s1")),
        with("u2", None, None),
    ];
    let ma = s.insert(&a, items.clone(), now).expect("insert a");
    let mb = s.insert(&b, items, now).expect("insert b");
    assert!(DeleteScope::new(None, None, None).is_err(), "an empty scope cannot be built");
    let scope = |u: Option<&str>, ag: Option<&str>, se: Option<&str>| {
        DeleteScope::new(u.map(Into::into), ag.map(Into::into), se.map(Into::into)).expect("scope")
    };
    let n = s.delete_scoped(&a, &scope(Some("u1"), Some("ag"), Some("s1")), now).expect("del");
    assert_eq!(n, 1);
    assert_eq!(s.get(&a, ma[0].id, now).expect("get"), None);
    assert_eq!(s.delete_scoped(&a, &scope(None, None, Some("s1")), now).expect("del"), 2);
    assert_eq!(s.delete_scoped(&a, &scope(Some("u1"), None, None), now).expect("del"), 1);
    let left = ids(&list_all(s, &a, &Filter::default(), 10, now));
    assert_eq!(left, vec![ma[4].id], "only u2's unscoped memory is left in a");
    assert_eq!(s.count(&b).expect("count"), 5, "the other tenant is untouched");
    let mut by_tenant = s.count_by_tenant().expect("count_by_tenant");
    by_tenant.sort();
    let want = vec![(a.as_str().to_owned(), 1), (b.as_str().to_owned(), 5)];
    assert_eq!(by_tenant, want, "deleted memories are not counted");
    assert!(mb.iter().all(|m| s.get(&b, m.id, now).expect("get").is_some()));
    assert_eq!(s.delete_scoped(&a, &scope(Some("u1"), None, None), now).expect("del"), 0);
}

/// Expired memories are invisible to every tenant-scoped read and cannot be changed.
pub fn expiry_excluded(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let at = |d: Duration| NewMemory { expires_at: Some(now + d), ..tagged("u1", "x", &["a", "b"]) };
    let old = insert_one(s, &t, at(-Duration::hours(1)), now - Duration::hours(2));
    let soon = insert_one(s, &t, at(Duration::hours(1)), now);
    let live = insert_one(s, &t, tagged("u1", "live", &["a", "c"]), now);
    let later = now + Duration::hours(2);
    assert_eq!(s.get(&t, old.id, now).expect("get"), None);
    assert_eq!(s.get(&t, soon.id, now).expect("get").map(|m| m.id), Some(soon.id));
    assert_eq!(s.get(&t, soon.id, later).expect("get"), None, "expires_at <= now is expired");
    let exact = soon.expires_at.expect("expiry");
    assert_eq!(s.get(&t, soon.id, exact).expect("get"), None, "expiry is inclusive");
    assert_eq!(s.get_many(&t, &[old.id, soon.id, live.id], later).expect("many").len(), 1);
    assert_eq!(ids(&list_all(s, &t, &Filter::default(), 2, later)), vec![live.id]);
    assert_eq!(list_all(s, &t, &Filter::default(), 2, now).len(), 2);
    let counts = s.tag_counts(&t, None, later).expect("tag_counts");
    assert!(counts.iter().all(|c| c.count == 1 && c.tag != "b"), "expired tags are not counted");
    let nb = s.tag_neighbours(&t, None, "a", 10, later).expect("neighbours");
    assert_eq!(nb.iter().map(|c| c.tag.as_str()).collect::<Vec<_>>(), vec!["c"]);
    assert_eq!(s.count(&t).expect("count"), 2, "count judges expiry by the wall clock");
    insert_one(s, &tenant("beta"), mem("u9", "other tenant"), now);
    let mut by_tenant = s.count_by_tenant().expect("count_by_tenant");
    by_tenant.sort();
    assert_eq!(by_tenant, vec![("acme".to_owned(), 2), ("beta".to_owned(), 1)], "expired excluded");
    let patch = MemoryPatch { content: Some("revive".into()), ..Default::default() };
    assert!(matches!(s.update(&t, old.id, patch, now), Err(StoreError::NotFound)));
    assert!(matches!(s.delete(&t, old.id, now), Err(StoreError::NotFound)));
    let extend = MemoryPatch { expires_at: Some(None), ..Default::default() };
    s.update(&t, soon.id, extend, now).expect("clear expiry");
    assert!(s.get(&t, soon.id, later).expect("get").is_some(), "cleared expiry never expires");
    assert_eq!(s.tag_counts(&t, None, later).expect("counts").first().map(|c| c.count), Some(2));
}

/// `adjacent` gives each live memory its user's previous and next live memory in insertion
/// order, skipping other users, tombstones and other tenants.
pub fn adjacent_in_insertion_order(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let first = s.insert(&t, vec![mem("u1", "a"), mem("u2", "x"), mem("u1", "b")], now).expect("insert");
    let later = now + Duration::seconds(1);
    let second = s.insert(&t, vec![mem("u1", "c"), mem("u1", "d")], later).expect("insert");
    s.insert(&tenant("other"), vec![mem("u1", "elsewhere")], later).expect("insert");
    let (a, b, c, d) = (&first[0], &first[2], &second[0], &second[1]);
    s.delete(&t, c.id, later).expect("delete");
    let got = s.adjacent(&t, &[b.id, a.id, c.id, d.id, first[1].id], later).expect("adjacent");
    let id = |p: &Option<crate::Placement>| p.as_ref().map(|p| p.id);
    let view: Vec<_> = got.iter().map(|x| (x.memory.id, id(&x.before), id(&x.after))).collect();
    assert_eq!(
        view,
        vec![
            (b.id, Some(a.id), Some(d.id)),
            (a.id, None, Some(b.id)),
            (d.id, Some(b.id), None),
            (first[1].id, None, None),
        ],
        "the deleted memory is skipped, as are other users and tenants"
    );
    assert_eq!(got[0].memory.created_at, b.created_at);
    let theirs = s.insert(&tenant("other"), vec![mem("u1", "theirs")], later).expect("insert");
    let asked = s.adjacent(&t, &[theirs[0].id], later).expect("adjacent");
    assert!(asked.is_empty(), "another tenant's id is not found through this tenant");
}
