use std::collections::HashSet;
use std::time::Duration;

use memd_store::{Filter, TenantId};
use proptest::prelude::*;

use super::{LexicalConfig, TantivyLexical};
use crate::testutil::{memory, shaped, strategies};
use crate::LexicalIndex;

/// An index whose committer never fires on its own: commits happen only on `flush`.
fn manual() -> TantivyLexical {
    let config = LexicalConfig { commit_interval: Duration::from_secs(3600), ..Default::default() };
    TantivyLexical::in_ram_with(config).unwrap()
}

fn t(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn filters_agree_with_reference(
        shapes in proptest::collection::vec(strategies::shape(), 0..12),
        filter in strategies::filter(),
        committed in any::<bool>(),
    ) {
        let idx = manual();
        let ms: Vec<_> = shapes.iter().map(|s| shaped("t", "common words here", s)).collect();
        let others: Vec<_> = shapes.iter().map(|s| shaped("o", "common words", s)).collect();
        idx.apply(&ms, &[], 1).unwrap();
        idx.apply(&others, &[], 2).unwrap();
        if committed {
            idx.flush().unwrap();
        }
        let got: HashSet<_> =
            idx.search(&t("t"), "common", &filter, 100).unwrap().iter().map(|h| h.id).collect();
        let want: HashSet<_> = ms.iter().filter(|m| filter.matches(m)).map(|m| m.id).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn tail_scores_match_committed_scores() {
    let idx = manual();
    let corpus = [
        "the cat sat on the mat",
        "dogs chase cats in the garden",
        "a quiet evening with tea",
        "the garden is green after rain",
        "cats and dogs living together",
    ];
    let ms: Vec<_> = corpus.iter().map(|c| memory("t", c)).collect();
    idx.apply(&ms, &[], 1).unwrap();
    idx.flush().unwrap();
    let probe = memory("t", "a cat in the garden, cats everywhere");
    idx.apply(std::slice::from_ref(&probe), &[], 2).unwrap();
    let q = "cat garden dogs";
    let before = idx.search(&t("t"), q, &Filter::default(), 10).unwrap();
    idx.flush().unwrap();
    assert_eq!(idx.pending(), 0);
    let after = idx.search(&t("t"), q, &Filter::default(), 10).unwrap();
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.id, a.id, "same ranking in tail and committed: {before:?} vs {after:?}");
        assert!((b.score - a.score).abs() < 1e-4 * a.score.max(1.0), "{b:?} vs {a:?}");
    }
    assert!(before.iter().any(|h| h.id == probe.id));
}

/// A user-filtered search reads the user-scoped field; its scores must equal those of the
/// unfiltered search over the plain field, in the tail and once committed, and it must never
/// return another user's or tenant's memory (the same user id in another tenant included).
#[test]
fn user_scoped_search_scores_like_the_plain_field() {
    let idx = manual();
    let texts = ["coffee every morning at seven", "tea in the garden", "coffee beans from Kenya"];
    let mut ms = Vec::new();
    for (tenant, user) in [("t", "alice"), ("t", "bob"), ("o", "alice")] {
        for text in texts {
            let mut m = memory(tenant, text);
            m.user_id = user.into();
            ms.push(m);
        }
    }
    let alice = Filter { user_id: Some("alice".into()), ..Filter::default() };
    for commit in [false, true] {
        idx.apply(&ms, &[], 1).unwrap();
        if commit {
            idx.flush().unwrap();
        }
        let all = idx.search(&t("t"), "coffee garden", &Filter::default(), 100).unwrap();
        let scoped = idx.search(&t("t"), "coffee garden", &alice, 100).unwrap();
        assert_eq!(scoped.len(), 3, "commit={commit}: {scoped:?}");
        for hit in &scoped {
            let m = ms.iter().find(|m| m.id == hit.id).expect("a known memory");
            assert_eq!((m.tenant.as_str(), m.user_id.as_str()), ("t", "alice"));
            let plain = all.iter().find(|h| h.id == hit.id).expect("also found unfiltered");
            assert!((plain.score - hit.score).abs() < 1e-5, "commit={commit}: {plain:?} vs {hit:?}");
        }
    }
}

#[test]
fn tags_are_searchable_and_tokens_are_stemmed() {
    let idx = manual();
    let mut m = memory("t", "Running through the Parks");
    m.tags = vec!["project-alpha".into()];
    idx.apply(std::slice::from_ref(&m), &[], 1).unwrap();
    for q in ["runs", "PARK", "alpha", "project"] {
        let hits = idx.search(&t("t"), q, &Filter::default(), 5).unwrap();
        assert_eq!(hits.len(), 1, "{q}");
    }
    idx.flush().unwrap();
    assert_eq!(idx.search(&t("t"), "alpha", &Filter::default(), 5).unwrap().len(), 1);
}

#[test]
fn clear_removes_everything_and_resets_seq() {
    let idx = manual();
    idx.apply(&[memory("t", "hello world")], &[], 5).unwrap();
    idx.flush().unwrap();
    idx.apply(&[memory("t", "hello again")], &[], 6).unwrap();
    assert_eq!(idx.seq(), 5);
    idx.clear().unwrap();
    assert_eq!(idx.seq(), 0);
    assert_eq!(idx.num_docs(), 0);
    assert!(idx.search(&t("t"), "hello", &Filter::default(), 5).unwrap().is_empty());
}

#[test]
fn background_committer_commits_within_the_interval() {
    let config = LexicalConfig { commit_interval: Duration::from_millis(20), ..Default::default() };
    let idx = TantivyLexical::in_ram_with(config).unwrap();
    idx.apply(&[memory("t", "hello world")], &[], 9).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while idx.seq() != 9 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(idx.seq(), 9);
    assert_eq!(idx.pending(), 0);
    assert_eq!(idx.search(&t("t"), "hello", &Filter::default(), 5).unwrap().len(), 1);
}

#[test]
fn a_large_tail_is_committed_by_apply() {
    let config =
        LexicalConfig { commit_interval: Duration::from_secs(3600), max_tail_docs: 4, ..Default::default() };
    let idx = TantivyLexical::in_ram_with(config).unwrap();
    for seq in 1..=16 {
        idx.apply(&[memory("t", "hello world")], &[], seq).unwrap();
    }
    assert!(idx.seq() >= 16 - 4, "apply committed when the tail grew: seq {}", idx.seq());
    assert_eq!(idx.search(&t("t"), "hello", &Filter::default(), 100).unwrap().len(), 16);
}

#[test]
fn query_stop_words_do_not_match_but_a_stop_word_query_still_does() {
    let idx = manual();
    let filler = memory("t", "what did she do when it was over");
    let target = memory("t", "Melanie painted a sunrise over the lake");
    idx.apply(&[filler.clone(), target.clone()], &[], 1).unwrap();
    let ids = |q: &str| -> Vec<_> {
        idx.search(&t("t"), q, &Filter::default(), 10).unwrap().iter().map(|h| h.id).collect()
    };
    // "what did she" are stop words: only "paint" decides, and the filler never matches.
    assert_eq!(ids("What did she paint?"), vec![target.id]);
    // A query of stop words only falls back to all its words.
    assert_eq!(ids("what did she do"), vec![filler.id]);
}

#[test]
fn the_public_tokenisers_show_what_the_index_makes_of_a_text() {
    assert_eq!(super::query_tokens("What did she paint at the lakes?"), vec!["paint", "lake"]);
    assert_eq!(super::query_tokens("who is he"), vec!["who", "is", "he"]);
    assert_eq!(super::document_tokens("She painted the lakes"), vec!["she", "paint", "the", "lake"]);
}

/// A lower `bm25_b` penalises length less: a long memory that mentions the query word twice
/// outranks a short one that mentions it once, where tantivy's 0.75 puts the short one first;
/// tail and committed index agree under either setting.
#[test]
fn lower_b_penalises_length_less() {
    let short = memory("t", "climbing today");
    let long = memory(
        "t",
        "we went climbing at the old quarry again this weekend and the climbing wall there was \
         crowded with people from the club, so we stayed until dark and had dinner in town",
    );
    let fillers: Vec<_> = (0..6).map(|i| memory("t", &format!("filler note {i} about nothing"))).collect();
    let ranked = |b: f32, commit: bool| {
        let config =
            LexicalConfig { commit_interval: Duration::from_secs(3600), bm25_b: b, ..Default::default() };
        let idx = TantivyLexical::in_ram_with(config).unwrap();
        idx.apply(&[short.clone(), long.clone()], &[], 1).unwrap();
        idx.apply(&fillers, &[], 2).unwrap();
        if commit {
            idx.flush().unwrap();
        }
        idx.search(&t("t"), "climbing", &Filter::default(), 10)
            .unwrap()
            .iter()
            .map(|h| h.id)
            .collect::<Vec<_>>()
    };
    for commit in [false, true] {
        assert_eq!(ranked(0.75, commit), vec![short.id, long.id], "commit={commit}");
        assert_eq!(ranked(0.1, commit), vec![long.id, short.id], "commit={commit}");
    }
}

/// Feedback expands the query with the best hit's rarer words: a memory that shares none of
/// the query's words but the topic of its best hit is found, below the direct match, in the
/// tail and once committed; without feedback it is not.
#[test]
fn feedback_finds_a_memory_through_the_best_hits_words() {
    let idx = manual();
    let hit = memory("t", "Caroline researched adoption agencies last week");
    let related = memory("t", "The agencies said adoption takes about a year");
    let others: Vec<_> =
        (0..8).map(|i| memory("t", &format!("note {i} about the weather and the garden"))).collect();
    idx.apply(&[hit.clone(), related.clone()], &[], 1).unwrap();
    idx.apply(&others, &[], 2).unwrap();
    let feedback = super::Feedback { docs: vec![(hit.content.clone(), 1.0)], weight: 0.3 };
    for commit in [false, true] {
        if commit {
            idx.flush().unwrap();
        }
        let plain = idx.search(&t("t"), "What did Caroline research?", &Filter::default(), 10).unwrap();
        assert_eq!(plain.iter().map(|h| h.id).collect::<Vec<_>>(), vec![hit.id], "commit={commit}");
        let q = "What did Caroline research?";
        let expanded = idx.search_with_feedback(&t("t"), q, &feedback, &Filter::default(), 10).unwrap();
        let ids: Vec<_> = expanded.iter().map(|h| h.id).collect();
        assert_eq!(ids.first(), Some(&hit.id), "commit={commit}: {expanded:?}");
        assert!(ids.contains(&related.id), "commit={commit}: {expanded:?}");
    }
}
