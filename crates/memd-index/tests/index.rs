//! Integration tests of both indexes through their public traits.

use std::sync::Arc;
use std::time::Duration;

use memd_index::{FlatVectorIndex, IndexError, LexicalConfig, LexicalIndex, TantivyLexical, VectorIndex};
use memd_store::{Filter, Memory, TenantId};
use uuid::Uuid;

fn tenant(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

fn memory(t: &str, content: &str) -> Memory {
    Memory::sample(tenant(t), "u", content)
}

fn manual_config() -> LexicalConfig {
    LexicalConfig { commit_interval: Duration::from_secs(3600), ..Default::default() }
}

fn ids(idx: &dyn LexicalIndex, t: &str, q: &str) -> Vec<Uuid> {
    idx.search(&tenant(t), q, &Filter::default(), 100).unwrap().iter().map(|h| h.id).collect()
}

#[test]
fn lexical_tenants_are_isolated_in_tail_and_committed() {
    let idx = TantivyLexical::in_ram_with(manual_config()).unwrap();
    let a = memory("a", "the secret plan");
    let b = memory("b", "the secret plan");
    idx.apply(&[a.clone(), b.clone()], &[], 1).unwrap();
    for _ in 0..2 {
        assert_eq!(ids(&idx, "a", "secret"), vec![a.id]);
        assert_eq!(ids(&idx, "b", "secret plan"), vec![b.id]);
        assert!(ids(&idx, "c", "secret").is_empty());
        idx.flush().unwrap();
    }
    // A delete addressed to the wrong tenant removes nothing.
    idx.apply(&[], &[(tenant("b"), a.id)], 2).unwrap();
    assert_eq!(ids(&idx, "a", "secret"), vec![a.id]);
    idx.flush().unwrap();
    assert_eq!(ids(&idx, "a", "secret"), vec![a.id]);
}

#[test]
fn vector_tenants_are_isolated() {
    let idx = FlatVectorIndex::default();
    let a = memory("a", "");
    let b = memory("b", "");
    idx.upsert(&[(a.clone(), vec![1.0, 0.0]), (b.clone(), vec![1.0, 0.0])]).unwrap();
    let hits = idx.search(&tenant("a"), &[1.0, 0.0], &Filter::default(), 10).unwrap();
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![a.id]);
    assert!(idx.search(&tenant("c"), &[1.0, 0.0], &Filter::default(), 10).unwrap().is_empty());
    idx.remove(&[(tenant("b"), a.id)]);
    assert_eq!(idx.len(), 2);
}

#[test]
fn replace_and_delete_before_and_after_commit() {
    let idx = TantivyLexical::in_ram_with(manual_config()).unwrap();
    let mut m = memory("t", "apple");
    idx.apply(std::slice::from_ref(&m), &[], 1).unwrap();
    m.content = "banana".into();
    idx.apply(std::slice::from_ref(&m), &[], 2).unwrap(); // replace in the tail
    assert!(ids(&idx, "t", "apple").is_empty());
    assert_eq!(ids(&idx, "t", "banana"), vec![m.id]);
    idx.flush().unwrap();
    assert!(ids(&idx, "t", "apple").is_empty());
    assert_eq!(ids(&idx, "t", "banana"), vec![m.id]);

    m.content = "cherry".into();
    idx.apply(std::slice::from_ref(&m), &[], 3).unwrap(); // replace a committed doc
    assert!(ids(&idx, "t", "banana").is_empty());
    assert_eq!(ids(&idx, "t", "cherry"), vec![m.id]);
    idx.flush().unwrap();
    assert!(ids(&idx, "t", "banana").is_empty());
    assert_eq!(ids(&idx, "t", "cherry"), vec![m.id]);

    idx.apply(&[], &[(tenant("t"), m.id)], 4).unwrap(); // delete a committed doc
    assert!(ids(&idx, "t", "cherry").is_empty());
    idx.flush().unwrap();
    assert!(ids(&idx, "t", "cherry").is_empty());

    let n = memory("t", "durian");
    idx.apply(std::slice::from_ref(&n), &[], 5).unwrap();
    idx.apply(&[], &[(tenant("t"), n.id)], 6).unwrap(); // delete a tail doc
    assert!(ids(&idx, "t", "durian").is_empty());
    idx.flush().unwrap();
    assert!(ids(&idx, "t", "durian").is_empty());
    assert_eq!(idx.seq(), 6);
    assert_eq!(idx.num_docs(), 0);
}

#[test]
fn reopen_after_flush_keeps_docs_and_seq() {
    let dir = tempfile::tempdir().unwrap();
    let m = memory("t", "persistent memory");
    {
        let idx = TantivyLexical::open_with(dir.path(), manual_config()).unwrap();
        idx.apply(std::slice::from_ref(&m), &[], 7).unwrap();
        idx.flush().unwrap();
    }
    let idx = TantivyLexical::open(dir.path()).unwrap();
    assert_eq!(idx.seq(), 7);
    assert_eq!(ids(&idx, "t", "persistent"), vec![m.id]);
    assert_eq!(idx.num_docs(), 1);
}

#[test]
fn reopen_without_flush_loses_only_uncommitted_and_replay_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let kept = memory("t", "kept words");
    let lost = memory("t", "lost words");
    {
        let idx = TantivyLexical::open_with(dir.path(), manual_config()).unwrap();
        idx.apply(std::slice::from_ref(&kept), &[], 1).unwrap();
        idx.flush().unwrap();
        idx.apply(std::slice::from_ref(&lost), &[], 2).unwrap();
        assert_eq!(ids(&idx, "t", "lost").len(), 1);
    } // dropped without flush: as after a crash
    let idx = TantivyLexical::open_with(dir.path(), manual_config()).unwrap();
    assert_eq!(idx.seq(), 1);
    assert_eq!(ids(&idx, "t", "kept"), vec![kept.id]);
    assert!(ids(&idx, "t", "lost").is_empty());
    // The caller replays the change log from seq 1, which may re-apply present ids.
    idx.apply(&[kept.clone(), lost.clone()], &[], 2).unwrap();
    assert_eq!(ids(&idx, "t", "words").len(), 2);
    idx.flush().unwrap();
    assert_eq!(ids(&idx, "t", "words").len(), 2);
    assert_eq!(idx.num_docs(), 2);
}

#[test]
fn tricky_queries_never_error() {
    let idx = TantivyLexical::in_ram_with(manual_config()).unwrap();
    let nasty = [
        "A:*{",
        "\"unbalanced",
        "AND OR NOT",
        "😀🎉 emoji",
        "",
        "   ",
        "title:foo^3 ~2 [a TO b] {x TO *}",
        "\0\u{7}",
        "(((",
        "-",
        "*",
        "ünïcödé 東京 مرحبا",
    ];
    let long = "x".repeat(100_000);
    for phase in 0..3 {
        if phase == 1 {
            idx.apply(&[memory("t", "A and OR not emoji 😀 東京")], &[], 1).unwrap();
        }
        if phase == 2 {
            idx.flush().unwrap();
        }
        for q in nasty.iter().copied().chain([long.as_str()]) {
            idx.search(&tenant("t"), q, &Filter::default(), 10).unwrap();
        }
    }
    assert_eq!(ids(&idx, "t", "东京 東京").len(), 1);
    assert!(ids(&idx, "t", "").is_empty());
    assert!(ids(&idx, "t", "😀").is_empty(), "emoji are not tokens");
    assert!(idx.search(&tenant("t"), "emoji", &Filter::default(), 0).unwrap().is_empty());
}

#[test]
fn concurrent_applies_are_visible_to_their_writer_at_once() {
    let config =
        LexicalConfig { commit_interval: Duration::from_millis(5), max_tail_docs: 16, ..Default::default() };
    let idx = Arc::new(TantivyLexical::in_ram_with(config).unwrap());
    let seq = Arc::new(std::sync::atomic::AtomicI64::new(0));
    std::thread::scope(|s| {
        for w in 0..4 {
            let (idx, seq) = (Arc::clone(&idx), Arc::clone(&seq));
            s.spawn(move || {
                for i in 0..60 {
                    let word = format!("w{w}n{i}q");
                    let m = memory("t", &format!("shared {word}"));
                    let n = seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    idx.apply(std::slice::from_ref(&m), &[], n).unwrap();
                    assert_eq!(ids(idx.as_ref(), "t", &word), vec![m.id], "{word} visible at once");
                }
            });
        }
        for _ in 0..2 {
            let idx = Arc::clone(&idx);
            s.spawn(move || {
                for _ in 0..100 {
                    let hits = ids(idx.as_ref(), "t", "shared");
                    let unique: std::collections::HashSet<_> = hits.iter().collect();
                    assert_eq!(unique.len(), hits.len(), "no duplicate hits");
                }
            });
        }
    });
    idx.flush().unwrap();
    assert_eq!(ids(idx.as_ref(), "t", "shared").len(), 100);
    assert_eq!(idx.num_docs(), 240);
}

#[test]
fn vector_dimension_mismatch_is_invalid() {
    let idx = FlatVectorIndex::default();
    idx.upsert(&[(memory("t", ""), vec![0.5; 8])]).unwrap();
    let e = idx.upsert(&[(memory("t", ""), vec![0.5; 9])]).unwrap_err();
    assert!(matches!(e, IndexError::Invalid(_)), "{e}");
    let e = idx.search(&tenant("t"), &[0.5; 7], &Filter::default(), 1).unwrap_err();
    assert!(matches!(e, IndexError::Invalid(_)), "{e}");
}

#[test]
fn an_index_with_an_older_schema_is_reset_for_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut b = tantivy::schema::Schema::builder();
        b.add_text_field("id", tantivy::schema::STRING | tantivy::schema::FAST);
        let old = tantivy::Index::create_in_dir(dir.path(), b.build()).expect("old index");
        let mut w: tantivy::IndexWriter = old.writer(15_000_000).expect("writer");
        w.commit().expect("commit");
    }
    let idx = TantivyLexical::open_with(dir.path(), manual_config()).expect("reset and reopened");
    assert_eq!(idx.seq(), 0, "a reset index asks for a full replay");
    idx.apply(&[memory("t", "after the reset")], &[], 7).expect("apply");
    idx.flush().expect("flush");
    assert_eq!(ids(&idx, "t", "reset").len(), 1);
}
