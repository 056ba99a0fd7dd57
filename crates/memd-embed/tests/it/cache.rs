//! QueryCache / CachedEmbedder: hits, misses, keys per model, errors not cached.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use memd_embed::{CachedEmbedder, EmbedError, Embedder, QueryCache};

struct Counting {
    id: &'static str,
    calls: AtomicUsize,
    fail: bool,
}

impl Counting {
    fn new(id: &'static str) -> Self {
        Self { id, calls: AtomicUsize::new(0), fail: false }
    }
}

impl Embedder for Counting {
    fn model_id(&self) -> &str {
        self.id
    }
    fn dim(&self) -> usize {
        2
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(EmbedError::Provider("down".into()));
        }
        Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
    }
}

#[test]
fn hits_and_misses() {
    let inner = Arc::new(Counting::new("a"));
    let cached = CachedEmbedder::new(inner.clone(), 100);
    let first = cached.embed_query("hello").expect("embed");
    let again = cached.embed_query("hello").expect("embed");
    cached.embed_query("other").expect("embed");
    assert_eq!(&*first, &[5.0, 1.0]);
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    let s = cached.stats();
    assert_eq!((s.hits, s.misses, s.capacity), (1, 2, 100));
    assert!((s.hit_ratio() - 1.0 / 3.0).abs() < 1e-9);
    // Documents bypass the cache.
    cached.embed(&["hello"]).expect("embed");
    assert_eq!(inner.calls.load(Ordering::SeqCst), 3);
    assert_eq!(cached.model_id(), "a");
}

#[test]
fn keyed_by_model() {
    let cache = QueryCache::new(10);
    let (a, b) = (Counting::new("a"), Counting::new("b"));
    cache.get_or_embed(&a, "q").expect("a");
    cache.get_or_embed(&b, "q").expect("b");
    assert_eq!(cache.stats().misses, 2);
    assert_eq!(b.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn errors_are_not_cached() {
    let mut failing = Counting::new("f");
    failing.fail = true;
    let cache = QueryCache::new(10);
    assert!(matches!(cache.get_or_embed(&failing, "q"), Err(EmbedError::Provider(_))));
    assert!(cache.get_or_embed(&failing, "q").is_err());
    assert_eq!(failing.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn bounded() {
    let cache = QueryCache::new(5);
    let e = Counting::new("a");
    for i in 0..200 {
        cache.get_or_embed(&e, &format!("query {i}")).expect("embed");
    }
    let s = cache.stats();
    assert_eq!(s.misses, 200);
    assert!(s.entries <= 5, "entries {}", s.entries);
    cache.clear();
    assert_eq!(cache.stats().entries, 0);
}
