//! Service-level tests: restart and catch-up without re-embedding, model changes, degraded
//! search, index rebuilds and a property test of tenant/user isolation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use memd_core::{AddMemory, Caller, Config, FilterParams, MemoryService, SearchMode, SearchRequest};
use memd_embed::{EmbedError, Embedder, MiniLmEmbedder};
use memd_store::{Scope, TenantId};
use proptest::prelude::*;

fn model() -> Arc<MiniLmEmbedder> {
    static M: OnceLock<Arc<MiniLmEmbedder>> = OnceLock::new();
    M.get_or_init(|| {
        let dir = memd_embed::discover_model_dir(
            std::env::var_os("MEMD_EMBED_MODEL_DIR").as_deref().map(AsRef::as_ref),
        )
        .expect("model installed (scripts/ensure-model.sh)");
        Arc::new(MiniLmEmbedder::load(&dir).expect("model loads"))
    })
    .clone()
}

/// The real model under a chosen id, counting how many texts it embedded; optionally failing.
struct Probe {
    id: String,
    texts: AtomicUsize,
    fail: bool,
}

impl Probe {
    fn new(id: &str, fail: bool) -> Arc<Probe> {
        Arc::new(Probe { id: id.into(), texts: AtomicUsize::new(0), fail })
    }
}

impl Embedder for Probe {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dim(&self) -> usize {
        384
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if self.fail {
            return Err(EmbedError::Provider("deliberately failing test embedder".into()));
        }
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        model().embed(texts)
    }
}

fn open(dir: &std::path::Path, e: Option<Arc<dyn Embedder>>) -> MemoryService {
    let cfg = Config { data_dir: dir.to_path_buf(), ..Config::default() };
    memd_core::open_with(cfg, e).expect("open").0
}

async fn wait_embedded(s: &MemoryService) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.embed_pending() > 0 {
        assert!(Instant::now() < deadline, "embedding did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn add(content: &str, user: &str) -> AddMemory {
    AddMemory { content: content.into(), user_id: Some(user.into()), ..Default::default() }
}

fn search(q: &str, user: Option<&str>, mode: SearchMode) -> SearchRequest {
    SearchRequest {
        query: q.into(),
        filter: FilterParams { user_id: user.map(Into::into), ..Default::default() },
        top_k: Some(10),
        mode,
        fusion: None,
    }
}

const FACTS: [&str; 4] = [
    "Alice has an espresso every day at 7am",
    "The garage door opener needs new batteries",
    "Quarterly tax filing is due on the fifteenth",
    "The cat is afraid of the vacuum cleaner",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_catches_up_without_re_embedding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Caller::local();
    let first = Probe::new("probe", false);
    {
        let s = open(dir.path(), Some(first.clone()));
        for f in FACTS {
            s.add(&c, add(f, "u")).await.expect("add");
        }
        wait_embedded(&s).await;
        // No shutdown(): the lexical index may not have committed (a crash).
    }
    assert_eq!(first.texts.load(Ordering::SeqCst), FACTS.len());
    let second = Probe::new("probe", false);
    let s = open(dir.path(), Some(second.clone()));
    let r = s.search(&c, search("garage", Some("u"), SearchMode::Keyword)).await.expect("search");
    assert_eq!(r.results.len(), 1, "lexical index caught up from the change log");
    let r =
        s.search(&c, search("morning coffee habit", Some("u"), SearchMode::Semantic)).await.expect("search");
    assert_eq!(r.results[0].memory.content, FACTS[0]);
    assert_eq!(second.texts.load(Ordering::SeqCst), 1, "only the query was embedded, no memory re-embedded");
    assert_eq!(s.indexer().vector().len(), FACTS.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_change_re_embeds_and_never_mixes_vectors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Caller::local();
    {
        let s = open(dir.path(), Some(Probe::new("model-a", false)));
        for f in FACTS {
            s.add(&c, add(f, "u")).await.expect("add");
        }
        wait_embedded(&s).await;
        s.shutdown().await.expect("shutdown");
    }
    let b = Probe::new("model-b", false);
    let s = open(dir.path(), Some(b.clone()));
    assert_eq!(s.indexer().vector().len(), 0, "model-a vectors are not loaded under model-b");
    wait_embedded(&s).await;
    assert_eq!(b.texts.load(Ordering::SeqCst), FACTS.len(), "everything re-embedded with model-b");
    assert_eq!(s.indexer().vector().len(), FACTS.len());
    let models = s.store().embedding_models().expect("models");
    assert_eq!(models, vec![("model-b".to_owned(), FACTS.len() as u64)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_embedder_degrades_search_to_keywords() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Some(Probe::new("broken", true)));
    let c = Caller::local();
    s.add(&c, add(FACTS[1], "u")).await.expect("writes still succeed");
    for mode in [SearchMode::Hybrid, SearchMode::Semantic] {
        let r = s.search(&c, search("garage door", Some("u"), mode)).await.expect("search answers");
        assert!(r.degraded, "{mode:?}");
        assert_eq!(r.mode, SearchMode::Keyword);
        assert_eq!(r.results.len(), 1);
    }
    assert_eq!(s.embed_pending(), 1, "the write stays queued for embedding");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_gives_the_same_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Some(Probe::new("probe", false)));
    let c = Caller::local();
    for (i, f) in FACTS.iter().enumerate() {
        s.add(&c, add(f, &format!("u{}", i % 2))).await.expect("add");
    }
    wait_embedded(&s).await;
    let q = search("cat vacuum espresso", None, SearchMode::Hybrid);
    let before: Vec<_> =
        s.search(&c, q.clone()).await.expect("search").results.into_iter().map(|h| h.memory.id).collect();
    let idx = s.indexer().clone();
    tokio::task::spawn_blocking(move || idx.rebuild()).await.expect("join").expect("rebuild");
    let after: Vec<_> =
        s.search(&c, q).await.expect("search").results.into_iter().map(|h| h.memory.id).collect();
    assert_eq!(before, after);
}

/// Repeated searches may be answered from the result cache; every write, and every embedding
/// that lands, must still be visible to the very next identical search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_searches_see_every_write_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Some(Probe::new("probe", false)));
    let c = Caller::local();
    let ids = |q: SearchRequest| {
        let s = s.clone();
        let c = c.clone();
        async move {
            let r = s.search(&c, q).await.expect("search");
            r.results.into_iter().map(|h| h.memory.id).collect::<Vec<_>>()
        }
    };
    let kw = || search("garage batteries", Some("u"), SearchMode::Keyword);
    let sem = || search("what needs fixing at home", Some("u"), SearchMode::Semantic);
    // Nothing yet: empty answers, asked twice so the second may come from the cache.
    for _ in 0..2 {
        assert!(ids(kw()).await.is_empty());
    }
    let m = s.add(&c, add(FACTS[1], "u")).await.expect("add");
    assert_eq!(ids(kw()).await, vec![m.id], "an add is visible to the next identical search");
    assert_eq!(ids(kw()).await, vec![m.id]);
    // Semantic: empty until the embedding lands, then found by the same query.
    let before = ids(sem()).await;
    wait_embedded(&s).await;
    assert!(before.is_empty() || before == vec![m.id]);
    assert_eq!(ids(sem()).await, vec![m.id], "an embedding is visible to the next identical search");
    let patch =
        memd_store::MemoryPatch { content: Some("The lawn needs mowing".into()), ..Default::default() };
    s.update(&c, m.id, patch).await.expect("update");
    assert!(ids(kw()).await.is_empty(), "an update is visible to the next identical search");
    let other = s.add(&c, add("Buy batteries for the garage remote", "u")).await.expect("add");
    assert_eq!(ids(kw()).await, vec![other.id]);
    s.delete(&c, other.id).await.expect("delete");
    assert!(ids(kw()).await.is_empty(), "a delete is visible to the next identical search");
}

/// `memd serve` and `memd mcp` processes share a data directory: the second cannot have the
/// lexical index's writer lock, keeps its own in memory, and each finds what the other writes
/// (keyword at once; semantic once embedded, by whichever process embeds it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_on_one_data_directory_see_each_others_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Caller::local();
    let a = open(dir.path(), Some(Probe::new("probe", false)));
    let early = a.add(&c, add(FACTS[0], "u")).await.expect("add via a");
    let b = open(dir.path(), Some(Probe::new("probe", false)));
    let ids = |s: &MemoryService, q: &str, mode| {
        let (s, c, q) = (s.clone(), c.clone(), q.to_owned());
        async move {
            let r = s.search(&c, search(&q, Some("u"), mode)).await.expect("search");
            r.results.into_iter().map(|h| h.memory.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(&b, "espresso", SearchMode::Keyword).await, vec![early.id], "b filled from the log");
    // Asked before each write too, so a stale cached answer would show.
    assert!(ids(&a, "garage", SearchMode::Keyword).await.is_empty());
    let from_b = b.add(&c, add(FACTS[1], "u")).await.expect("add via b");
    assert_eq!(ids(&a, "garage", SearchMode::Keyword).await, vec![from_b.id], "a sees b's write at once");
    assert!(ids(&b, "vacuum", SearchMode::Keyword).await.is_empty());
    let from_a = a.add(&c, add(FACTS[3], "u")).await.expect("add via a");
    assert_eq!(ids(&b, "vacuum", SearchMode::Keyword).await, vec![from_a.id], "b sees a's write at once");
    a.delete(&c, from_b.id).await.expect("delete via a");
    assert!(ids(&b, "garage", SearchMode::Keyword).await.is_empty(), "and its deletes");
    wait_embedded(&a).await;
    wait_embedded(&b).await;
    let found = ids(&b, "what is the cat scared of", SearchMode::Semantic).await;
    assert_eq!(found.first(), Some(&from_a.id), "semantic search over the shared vectors");
}

/// Conversation context: a reply that shares no word with the query is found through the turn
/// it answers (same session, stored just after it), but not across sessions, and not with the
/// signal off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_found_through_the_turn_it_answers() {
    let turn =
        |content: &str, session: &str| AddMemory { session_id: Some(session.into()), ..add(content, "u") };
    for weight in [0.3, 0.0] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        cfg.search.context_weight = weight;
        let s = memd_core::open_with(cfg, None).expect("open").0;
        let c = Caller::local();
        let turns = vec![
            turn("Do you still go climbing?", "s1"),
            turn("Yes, twice a week at the gym!", "s1"),
            turn("Nice weather today.", "s2"),
            turn("Where did you put the keys?", "s2"),
        ];
        s.add_batch(&c, turns).await.expect("add");
        // Hybrid (keyword-only here: no embedder); the keyword mode is plain BM25.
        let r = s.search(&c, search("climbing", Some("u"), SearchMode::Hybrid)).await.expect("search");
        let found: Vec<&str> = r.results.iter().map(|h| h.memory.content.as_str()).collect();
        if weight > 0.0 {
            assert_eq!(found, ["Do you still go climbing?", "Yes, twice a week at the gym!"]);
        } else {
            assert_eq!(found, ["Do you still go climbing?"]);
        }
        let r = s.search(&c, search("climbing", Some("u"), SearchMode::Keyword)).await.expect("search");
        assert_eq!(r.results.len(), 1);
        s.shutdown().await.expect("shutdown");
    }
}

fn caller(tenant: &str, user: Option<&str>) -> Caller {
    Caller {
        tenant: TenantId::new(tenant).expect("tenant"),
        bound_user: user.map(Into::into),
        scopes: vec![Scope::Read, Scope::Write],
        key_id: None,
        local: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    /// Whatever is written, a caller only ever gets back memories of its own tenant (and of its
    /// bound user), in every mode.
    #[test]
    fn search_and_list_never_cross_tenants_or_bound_users(
        writes in proptest::collection::vec((0usize..3, 0usize..3, 0usize..FACTS.len()), 1..14),
        query in 0usize..FACTS.len(),
    ) {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let dir = tempfile::tempdir().expect("tempdir");
            let s = open(dir.path(), Some(Probe::new("probe", false)));
            let tenants = ["t0", "t1", "t2"];
            for (t, u, f) in &writes {
                let c = caller(tenants[*t], None);
                s.add(&c, add(FACTS[*f], &format!("user{u}"))).await.expect("add");
            }
            wait_embedded(&s).await;
            for t in tenants {
                for bound in [None, Some("user1")] {
                    let c = caller(t, bound);
                    for mode in [SearchMode::Hybrid, SearchMode::Semantic, SearchMode::Keyword] {
                        let r = s.search(&c, search(FACTS[query], None, mode)).await.expect("search");
                        for h in &r.results {
                            prop_assert_eq!(h.memory.tenant.as_str(), t);
                            if let Some(b) = bound {
                                prop_assert_eq!(h.memory.user_id.as_str(), b);
                            }
                        }
                        let expected = writes.iter().filter(|(wt, wu, wf)| tenants[*wt] == t
                            && bound.is_none_or(|b| format!("user{wu}") == b) && *wf == query).count();
                        let found = r.results.iter().filter(|h| h.memory.content == FACTS[query]).count();
                        prop_assert_eq!(found, expected.min(10), "mode {:?}", mode);
                    }
                    let page = s.list(&c, FilterParams::default(), None, Some(100)).await.expect("list");
                    prop_assert!(page.items.iter().all(|m| m.tenant.as_str() == t
                        && bound.is_none_or(|b| m.user_id == b)));
                }
            }
            s.shutdown().await.expect("shutdown");
            Ok(())
        })?;
    }
}
