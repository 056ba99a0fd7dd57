//! Recall and latency of the HNSW path against the exact scan on real MiniLM embeddings.
//!
//! `cargo run --release -p memd-index --example hnsw_recall`
//!
//! Corpus: the turns and observations of `../shared/bench/locomo/locomo-dev.json` (read at run
//! time, never copied) plus template sentences up to `REAL_N` (default 20,000) texts, embedded
//! with all-MiniLM-L6-v2 (vectors cached in `/tmp/memd-hnsw-recall-*.f32`). Queries: the LoCoMo
//! questions. The real vectors are then replicated with small noise up to `TOTAL_N` (default
//! 100,000) rows. Env: `M`, `EF_C`, `EF_S` (HNSW parameters), `THRESHOLD`,
//! `LOCOMO` (path).

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use memd_embed::{discover_model_dir, Embedder, MiniLmEmbedder};
use memd_index::{FlatVectorIndex, HnswParams, VectorConfig, VectorIndex};
use memd_store::{Filter, Memory, TenantId};

type Res<T> = Result<T, Box<dyn Error>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[path = "../tests/support/rng.rs"]
mod rng;
use rng::Rng;

/// LoCoMo turn texts and observations, and its questions.
fn locomo(path: &Path) -> Res<(Vec<String>, Vec<String>)> {
    let data: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let (mut docs, mut questions) = (Vec::new(), Vec::new());
    for conv in data.as_array().into_iter().flatten() {
        for (key, turns) in conv["conversation"].as_object().into_iter().flatten() {
            for turn in turns.as_array().into_iter().flatten().filter(|_| key.starts_with("session_")) {
                docs.push(format!(
                    "{}: {}",
                    turn["speaker"].as_str().unwrap_or(""),
                    turn["text"].as_str().unwrap_or("")
                ));
            }
        }
        for per_speaker in conv["observation"].as_object().into_iter().flat_map(|o| o.values()) {
            for list in per_speaker.as_object().into_iter().flat_map(|o| o.values()) {
                docs.extend(
                    list.as_array().into_iter().flatten().filter_map(|o| o[0].as_str().map(String::from)),
                );
            }
        }
        questions.extend(
            conv["qa"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|q| q["question"].as_str().map(String::from)),
        );
    }
    Ok((docs, questions))
}

/// A varied memory-like sentence from templates.
fn sentence(rng: &mut Rng) -> String {
    const WHO: &[&str] = &[
        "Alice",
        "Bob",
        "my sister",
        "the manager",
        "Priya",
        "Tom",
        "our neighbour",
        "the user",
        "Grandma",
        "Diego",
    ];
    const DID: &[&str] = &[
        "bought",
        "lost",
        "repaired",
        "painted",
        "sold",
        "borrowed",
        "cooked",
        "planted",
        "booked",
        "cancelled",
        "forgot",
        "recommended",
    ];
    const WHAT: &[&str] = &[
        "a red bicycle",
        "the kitchen table",
        "tickets to Lisbon",
        "a sourdough starter",
        "the quarterly report",
        "a vintage guitar",
        "tomato seedlings",
        "a dentist appointment",
        "the Python course",
        "a hiking backpack",
        "vegan lasagna",
        "the car insurance",
        "a birthday cake",
        "running shoes",
        "a jazz record",
    ];
    const WHEN: &[&str] = &[
        "last Tuesday",
        "in March",
        "yesterday",
        "two weeks ago",
        "this morning",
        "over the holidays",
        "after work",
        "on her birthday",
        "during the trip",
        "before the meeting",
    ];
    const WHY: &[&str] = &[
        "because it was on sale",
        "for the family reunion",
        "to prepare for the marathon",
        "since the old one broke",
        "as a surprise",
        "to learn something new",
        "for the garden",
        "after a long discussion",
        "on a friend's advice",
        "",
    ];
    format!("{} {} {} {} {}", rng.pick(WHO), rng.pick(DID), rng.pick(WHAT), rng.pick(WHEN), rng.pick(WHY))
        .trim()
        .to_string()
}

/// Embeds `texts` in batches of 32, caching the result in `/tmp/memd-hnsw-recall-{name}.f32`.
fn embed_cached(name: &str, texts: &[String]) -> Res<Vec<Vec<f32>>> {
    let cache = format!("/tmp/memd-hnsw-recall-{name}-{}.f32", texts.len());
    if let Ok(bytes) = std::fs::read(&cache) {
        let flat: Vec<f32> =
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if !flat.is_empty() && flat.len().checked_rem(texts.len()) == Some(0) {
            return Ok(flat.chunks(flat.len() / texts.len()).map(<[f32]>::to_vec).collect());
        }
    }
    let embedder = MiniLmEmbedder::load(&discover_model_dir(None)?)?;
    let started = Instant::now();
    let mut out = Vec::with_capacity(texts.len());
    for (i, batch) in texts.chunks(32).enumerate() {
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        out.extend(embedder.embed(&refs)?);
        if i % 100 == 0 {
            eprintln!("embedded {}/{} {name} in {:.0?}", out.len(), texts.len(), started.elapsed());
        }
    }
    let bytes: Vec<u8> = out.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(&cache, bytes)?;
    Ok(out)
}

fn memory(tenant: &TenantId, i: usize) -> Memory {
    let mut m = Memory::sample(tenant.clone(), format!("user{}", i % 10), "");
    m.agent_id = Some(format!("agent{}", i % 3));
    m
}

fn pct(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)].as_secs_f64() * 1e3
}

/// Recall@k of `idx` against `exact` and both latency distributions, over `queries`.
fn compare(
    label: &str,
    idx: &FlatVectorIndex,
    exact: &FlatVectorIndex,
    queries: &[Vec<f32>],
    filter: &Filter,
) -> Res<()> {
    let tenant = TenantId::new("bench")?;
    let k = 10;
    let (mut found, mut total) = (0usize, 0usize);
    let (mut approx_t, mut exact_t) = (Vec::new(), Vec::new());
    for q in queries {
        let t0 = Instant::now();
        let want = exact.search(&tenant, q, filter, k)?;
        exact_t.push(t0.elapsed());
        let t0 = Instant::now();
        let got = idx.search(&tenant, q, filter, k)?;
        approx_t.push(t0.elapsed());
        found += got.iter().filter(|h| want.iter().any(|w| w.id == h.id)).count();
        total += want.len();
    }
    println!(
        "{label:<28} recall@{k}={:.4}  hnsw p50={:.3} ms p95={:.3} ms  exact p50={:.3} ms p95={:.3} ms  (n={})",
        found as f64 / total.max(1) as f64,
        pct(&mut approx_t, 0.5),
        pct(&mut approx_t, 0.95),
        pct(&mut exact_t, 0.5),
        pct(&mut exact_t, 0.95),
        queries.len()
    );
    Ok(())
}

fn main() -> Res<()> {
    let (real_n, total_n) = (env("REAL_N", 20_000), env("TOTAL_N", 100_000));
    let params =
        HnswParams { m: env("M", 16), ef_construction: env("EF_C", 128), ef_search: env("EF_S", 256) };
    let path = std::env::var("LOCOMO").unwrap_or_else(|_| "../shared/bench/locomo/locomo-dev.json".into());
    let (mut docs, questions) = locomo(Path::new(&path))?;
    let mut rng = Rng(0x5eed);
    docs.truncate(real_n);
    let from_locomo = docs.len();
    while docs.len() < real_n {
        docs.push(sentence(&mut rng));
    }
    let doc_vs = embed_cached("docs", &docs)?;
    let query_vs = embed_cached("questions", &questions)?;
    println!(
        "{} real texts ({} LoCoMo), {} questions; replicated with noise to {total_n} rows",
        docs.len(),
        from_locomo,
        questions.len()
    );

    let tenant = TenantId::new("bench")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config =
        VectorConfig { hnsw_threshold: env("THRESHOLD", 10_000), hnsw: params, ..VectorConfig::default() };
    let idx = FlatVectorIndex::new(config);
    let exact = FlatVectorIndex::new(VectorConfig { hnsw_threshold: usize::MAX, ..config });
    let items: Vec<(Memory, Vec<f32>)> = (0..total_n)
        .map(|i| {
            let base = &doc_vs[i % doc_vs.len()];
            // Copies after the first get ~0.01 noise per value (cosine ≈ 0.98 to the original).
            let v = if i < doc_vs.len() {
                base.clone()
            } else {
                base.iter().map(|x| x + 0.01 * rng.unit()).collect()
            };
            (memory(&tenant, i), v)
        })
        .collect();
    let t0 = Instant::now();
    for chunk in items.chunks(1000) {
        idx.upsert(chunk)?;
    }
    let insert = t0.elapsed();
    idx.wait_hnsw_idle();
    println!(
        "upsert {total_n}: {insert:.2?}; background graph caught up {:.2?} after the first upsert",
        t0.elapsed()
    );
    exact.upsert(&items)?;
    let t0 = Instant::now();
    idx.rebuild_hnsw(&tenant);
    println!(
        "full rebuild of {total_n} × {}: {:.2?} on {threads} threads (M={}, ef_c={}, ef_s={})",
        doc_vs[0].len(),
        t0.elapsed(),
        params.m,
        params.ef_construction,
        params.ef_search
    );
    println!("graph: {:?}", idx.hnsw_stats(&tenant));

    let docs_as_queries: Vec<Vec<f32>> = doc_vs.iter().step_by(20).take(1000).cloned().collect();
    let user = Filter { user_id: Some("user3".into()), ..Filter::default() };
    let agent = Filter { agent_id: Some("agent1".into()), ..Filter::default() };
    for ef in [params.ef_search / 2, params.ef_search, 2 * params.ef_search] {
        idx.set_hnsw_ef_search(ef);
        println!("ef_search = {ef}");
        compare("questions, no filter", &idx, &exact, &query_vs, &Filter::default())?;
        compare("corpus texts, no filter", &idx, &exact, &docs_as_queries, &Filter::default())?;
        compare("questions, user = 1/10", &idx, &exact, &query_vs, &user)?;
        compare("questions, agent = 1/3", &idx, &exact, &query_vs, &agent)?;
    }
    Ok(())
}
