//! Quick latency measurements of both indexes on synthetic data.
//!
//! `cargo run --release -p memd-index --example bench [-- vectors|lexical]`
//!
//! Vectors: 100k × 384 random unit vectors, top-10, exact scan on 1 and on all threads.
//! Lexical: 100k short synthetic docs (Zipf-like vocabulary), 2–4 word queries; and `apply`
//! latency of single-document writes from 8 threads while the committer runs.

use std::time::{Duration, Instant};

use memd_index::{FlatVectorIndex, LexicalIndex, TantivyLexical, VectorConfig, VectorIndex};
use memd_store::{Filter, Memory, TenantId};

#[path = "../tests/support/rng.rs"]
mod rng;
use rng::Rng;

fn memory(tenant: &TenantId, user: usize, content: String) -> Memory {
    Memory::sample(tenant.clone(), format!("user{user}"), content)
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<48} n={:<5} p50={:>7.3} ms  p95={:>7.3} ms  p99={:>7.3} ms",
        samples.len(),
        ms(pct(0.50)),
        ms(pct(0.95)),
        ms(pct(0.99))
    );
}

fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let t = Instant::now();
    std::hint::black_box(f());
    t.elapsed()
}

fn vectors() {
    let n: usize = std::env::var("VEC_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dim = 384;
    let tenant = TenantId::new("bench").expect("valid tenant");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let v: Vec<f32> = (0..dim).map(|_| rng.unit()).collect();
        items.push((memory(&tenant, i % 2, String::new()), v));
    }
    let queries: Vec<Vec<f32>> = (0..300).map(|_| (0..dim).map(|_| rng.unit()).collect()).collect();
    let half = Filter { user_id: Some("user1".into()), ..Filter::default() };
    for threads in [1, 2] {
        let idx = FlatVectorIndex::new(VectorConfig {
            parallel_rows: 32_768,
            scan_threads: threads,
            hnsw_threshold: usize::MAX,
            ..Default::default()
        });
        for chunk in items.chunks(10_000) {
            idx.upsert(chunk).expect("upsert");
        }
        for (label, f) in [("no filter", &Filter::default()), ("user filter (50%)", &half)] {
            let samples =
                queries.iter().map(|q| time(|| idx.search(&tenant, q, f, 10).expect("search"))).collect();
            report(&format!("vector {n} x {dim} top-10, {threads} thread(s), {label}"), samples);
        }
    }
}

const VOCAB: usize = 5_000;

fn word(rng: &mut Rng) -> String {
    // Zipf-like: squaring a uniform draw favours low ranks.
    let u = rng.below(1 << 16) as f64 / (1u64 << 16) as f64;
    format!("w{}", (u * u * VOCAB as f64) as usize)
}

fn sentence(rng: &mut Rng, words: usize) -> String {
    (0..words).map(|_| word(rng)).collect::<Vec<_>>().join(" ")
}

fn lexical() {
    let dir = tempfile::tempdir().expect("tempdir");
    let idx = TantivyLexical::open(dir.path()).expect("open");
    let tenant = TenantId::new("bench").expect("valid tenant");
    let mut rng = Rng(42);
    let t = Instant::now();
    for (seq, _) in (0..100).enumerate() {
        let batch: Vec<_> = (0..1_000).map(|i| memory(&tenant, i % 10, sentence(&mut rng, 12))).collect();
        idx.apply(&batch, &[], seq as i64 + 1).expect("apply");
    }
    idx.flush().expect("flush");
    println!("lexical: indexed 100k docs in {:.2} s", t.elapsed().as_secs_f64());
    let queries: Vec<String> = (0..500).map(|i| sentence(&mut rng, 2 + i % 3)).collect();
    let user = Filter { user_id: Some("user3".into()), ..Filter::default() };
    for (label, f) in [("no filter", &Filter::default()), ("user filter (10%)", &user)] {
        let samples =
            queries.iter().map(|q| time(|| idx.search(&tenant, q, f, 10).expect("search"))).collect();
        report(&format!("lexical 100k top-10, committed, {label}"), samples);
    }
    let tail: Vec<_> = (0..1_000).map(|i| memory(&tenant, i % 10, sentence(&mut rng, 12))).collect();
    idx.apply(&tail, &[], 1_000).expect("apply");
    let samples = queries
        .iter()
        .map(|q| time(|| idx.search(&tenant, q, &Filter::default(), 10).expect("search")))
        .collect();
    report("lexical 100k top-10, +1000 docs in the tail", samples);
    idx.flush().expect("flush");
    concurrent_applies(&idx, &tenant);
}

fn concurrent_applies(idx: &TantivyLexical, tenant: &TenantId) {
    let seq = std::sync::atomic::AtomicI64::new(2_000);
    let samples = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|w| {
                let seq = &seq;
                s.spawn(move || {
                    let mut rng = Rng(1_000 + w);
                    let mut out = Vec::new();
                    for _ in 0..300 {
                        let m = memory(tenant, 0, sentence(&mut rng, 12));
                        let n = seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        out.push(time(|| idx.apply(std::slice::from_ref(&m), &[], n)));
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("writer thread")).collect()
    });
    report("lexical apply 1 doc, 8 writers, committer on", samples);
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    if which.is_empty() || which == "vectors" {
        vectors();
    }
    if which.is_empty() || which == "lexical" {
        lexical();
    }
}
