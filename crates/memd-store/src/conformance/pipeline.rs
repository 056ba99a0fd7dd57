//! Cases for what the derived indexes and the embedding pipeline rely on: the change log, the
//! embedding queue, model re-queueing and the snapshot scans.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use uuid::Uuid;

use super::{base, insert_one, mem, tenant};
use crate::{ChangeOp, EmbeddingWrite, Memory, MemoryPatch, NewMemory, Store, TenantId};

fn vector(m: &Memory, version: i64, x: f32) -> EmbeddingWrite {
    EmbeddingWrite { tenant: m.tenant.clone(), memory_id: m.id, version, vector: vec![x, -x, 0.5] }
}

fn pending_ids(s: &dyn Store) -> Vec<(Uuid, i64)> {
    let p = s.pending_embeddings(1000).expect("pending");
    assert_eq!(p.len() as u64, s.pending_count().expect("pending_count"));
    p.into_iter().map(|e| (e.memory_id, e.version)).collect()
}

fn patch_content(c: &str) -> MemoryPatch {
    MemoryPatch { content: Some(c.into()), ..Default::default() }
}

/// Every write appends exactly its change rows, with strictly increasing seqs.
pub fn change_log(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    assert_eq!(s.max_seq().expect("max_seq"), 0);
    let ms = s.insert(&t, vec![mem("u", "a"), mem("u", "b"), mem("u", "c")], now).expect("insert");
    let other = insert_one(s, &tenant("other"), mem("u", "d"), now);
    s.update(&t, ms[0].id, patch_content("a2"), now).expect("update");
    s.delete(&t, ms[1].id, now).expect("delete");
    assert_eq!(s.put_embeddings("e", &[vector(&ms[2], 1, 1.0)]).expect("put"), 1);
    let log = s.changes_since(0, 100).expect("changes");
    let got: Vec<_> = log.iter().map(|c| (c.tenant.clone(), c.memory_id, c.op)).collect();
    let (up, del, emb) = (ChangeOp::Upsert, ChangeOp::Delete, ChangeOp::Embed);
    let expected = vec![
        (t.clone(), ms[0].id, up),
        (t.clone(), ms[1].id, up),
        (t.clone(), ms[2].id, up),
        (other.tenant.clone(), other.id, up),
        (t.clone(), ms[0].id, up),
        (t.clone(), ms[1].id, del),
        (t.clone(), ms[2].id, emb),
    ];
    assert_eq!(got, expected);
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq), "seqs strictly increase");
    assert!(log[0].seq > 0);
    let last = log.last().map(|c| c.seq).unwrap_or_default();
    assert_eq!(s.max_seq().expect("max_seq"), last);
    let mid = s.changes_since(log[2].seq, 2).expect("changes");
    assert_eq!(mid, log[3..5].to_vec(), "changes_since pages by seq and limit");
    assert!(s.changes_since(last, 10).expect("changes").is_empty());
}

/// Insert queues; a stored vector dequeues; changed content re-queues and hides the old vector;
/// stale and deleted results are dropped.
pub fn embedding_queue_lifecycle(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let ms = s.insert(&t, vec![mem("u", "a"), mem("u", "b"), mem("u", "c")], now).expect("insert");
    let (a, b, c) = (&ms[0], &ms[1], &ms[2]);
    assert_eq!(pending_ids(s), vec![(a.id, 1), (b.id, 1), (c.id, 1)], "oldest first");
    let p = s.pending_embeddings(1).expect("pending");
    assert_eq!((p.len(), p[0].content.as_str(), p[0].tenant.clone()), (1, "a", t.clone()));
    assert_eq!(s.put_embeddings("e1", &[vector(a, 1, 1.0)]).expect("put"), 1);
    assert_eq!(pending_ids(s), vec![(b.id, 1), (c.id, 1)]);
    assert_eq!(s.get(&t, a.id, now).expect("get").and_then(|m| m.embedding_model), Some("e1".into()));
    let v = s.vector_of(&t, a.id, "e1", now).expect("vector_of").expect("stored vector");
    assert_eq!((v.vector, v.memory.id), (vec![1.0, -1.0, 0.5], a.id));
    assert_eq!(s.vector_of(&t, a.id, "e2", now).expect("vector_of"), None, "other model");
    // New content: queued again, the old vector is never served.
    let a2 = s.update(&t, a.id, patch_content("a, changed"), now).expect("update");
    assert_eq!((a2.version, a2.embedding_model.clone()), (2, None));
    assert!(pending_ids(s).contains(&(a.id, 2)));
    assert_eq!(s.vector_of(&t, a.id, "e1", now).expect("vector_of"), None);
    assert_eq!(s.put_embeddings("e1", &[vector(a, 1, 9.0)]).expect("put"), 0, "stale version");
    assert!(pending_ids(s).contains(&(a.id, 2)), "a stale result leaves the queue row");
    assert_eq!(s.put_embeddings("e1", &[vector(a, 2, 2.0)]).expect("put"), 1);
    // Same content (tags only): the vector stays valid, a queued one follows the version.
    let tags = MemoryPatch { tags: Some(vec!["t".into()]), ..Default::default() };
    let a3 = s.update(&t, a.id, tags.clone(), now).expect("update");
    assert_eq!(a3.embedding_model.as_deref(), Some("e1"));
    assert!(s.vector_of(&t, a.id, "e1", now).expect("vector_of").is_some());
    s.update(&t, c.id, tags, now).expect("update");
    assert!(pending_ids(s).contains(&(c.id, 2)), "the queued version follows the memory");
    assert_eq!(s.put_embeddings("e1", &[vector(c, 2, 3.0)]).expect("put"), 1);
    // Deleted: dequeued, and a late result is dropped.
    s.delete(&t, b.id, now).expect("delete");
    assert!(pending_ids(s).is_empty());
    assert_eq!(s.put_embeddings("e1", &[vector(b, 1, 4.0)]).expect("put"), 0);
    assert_eq!(s.embedding_models().expect("models"), vec![("e1".to_string(), 2)]);
}

/// Changing the model queues every live memory that lacks a vector of it.
pub fn requeue_for_model(s: &dyn Store) {
    let (t, now) = (tenant("acme"), base());
    let ms = s.insert(&t, (0..4).map(|i| mem("u", &format!("m{i}"))).collect(), now).expect("insert");
    let writes: Vec<_> = ms[..2].iter().map(|m| vector(m, 1, 1.0)).collect();
    assert_eq!(s.put_embeddings("old", &writes).expect("put"), 2);
    s.delete(&t, ms[3].id, now).expect("delete");
    assert_eq!(s.pending_count().expect("pending"), 1);
    assert_eq!(s.requeue_for_model("new").expect("requeue"), 3, "two re-embeds + one pending");
    let queued: BTreeSet<Uuid> = pending_ids(s).into_iter().map(|(id, _)| id).collect();
    assert_eq!(queued, ms[..3].iter().map(|m| m.id).collect());
    assert_eq!(s.embedding_models().expect("models"), vec![("old".to_string(), 2)]);
    let writes: Vec<_> = ms[..3].iter().map(|m| vector(m, 1, 2.0)).collect();
    assert_eq!(s.put_embeddings("new", &writes).expect("put"), 3);
    assert_eq!(s.embedding_models().expect("models"), vec![("new".to_string(), 3)]);
    assert_eq!(s.requeue_for_model("new").expect("requeue"), 0);
    assert_eq!(s.pending_count().expect("pending"), 0);
}

fn scan_all(s: &dyn Store, model: &str) -> (BTreeMap<Uuid, Vec<f32>>, i64) {
    let mut out = BTreeMap::new();
    let seq = s
        .scan_vectors(model, &mut |batch| {
            for v in batch {
                assert_eq!(v.memory.embedding_model.as_deref(), Some(model));
                assert!(out.insert(v.memory.id, v.vector).is_none(), "scan repeats a memory");
            }
        })
        .expect("scan_vectors");
    (out, seq)
}

/// A vector scan returns exactly the live vectors of one model, across tenants, and the seq.
pub fn scan_vectors(s: &dyn Store) {
    let now = base();
    let (a, b) = (tenant("a"), tenant("b"));
    let ma = s.insert(&a, (0..3).map(|i| mem("u", &format!("a{i}"))).collect(), now).expect("ins");
    let mb = s.insert(&b, (0..2).map(|i| mem("u", &format!("b{i}"))).collect(), now).expect("ins");
    let one = [vector(&ma[0], 1, 1.0), vector(&ma[1], 1, 2.0), vector(&mb[0], 1, 3.0)];
    assert_eq!(s.put_embeddings("m1", &one).expect("put"), 3);
    assert_eq!(s.put_embeddings("m2", &[vector(&mb[1], 1, 4.0)]).expect("put"), 1);
    s.delete(&a, ma[1].id, now).expect("delete");
    s.update(&b, mb[0].id, patch_content("changed"), now).expect("update");
    let (got, seq) = scan_all(s, "m1");
    let expected: BTreeMap<_, _> = [(ma[0].id, vec![1.0, -1.0, 0.5])].into_iter().collect();
    assert_eq!(got, expected, "only live vectors of the current content and model");
    assert_eq!(seq, s.max_seq().expect("max_seq"));
    assert_eq!(scan_all(s, "m2").0.keys().copied().collect::<Vec<_>>(), vec![mb[1].id]);
    assert!(scan_all(s, "m3").0.is_empty());
}

/// A memory scan returns every live memory of every tenant once, and the seq.
pub fn scan_memories(s: &dyn Store) {
    let now = base();
    let mut live: BTreeMap<Uuid, TenantId> = BTreeMap::new();
    for name in ["a", "b"] {
        let t = tenant(name);
        let ms = s.insert(&t, (0..1500).map(|i| mem("u", &format!("{i}"))).collect(), now);
        live.extend(ms.expect("insert").into_iter().map(|m| (m.id, m.tenant)));
    }
    let gone = *live.keys().next().expect("a memory");
    s.delete(&tenant("a"), gone, now).expect("delete");
    live.remove(&gone);
    let expired = NewMemory { expires_at: Some(now - Duration::seconds(1)), ..mem("u", "old") };
    insert_one(s, &tenant("a"), expired, now - Duration::hours(1));
    let mut seen: BTreeMap<Uuid, TenantId> = BTreeMap::new();
    let seq = s
        .scan_memories(&mut |batch| {
            for m in batch {
                assert!(seen.insert(m.id, m.tenant).is_none(), "scan repeats a memory");
            }
        })
        .expect("scan_memories");
    assert_eq!(seen, live);
    assert_eq!(seq, s.max_seq().expect("max_seq"));
}
