//! Criterion micro-benchmarks of memd-index's hot paths: the exact vector scan, an HNSW query,
//! and query tokenisation (analysis). `cargo bench -p memd-index` (the HNSW group first builds a
//! graph of 100k vectors: ~1 min on 2 cores).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use memd_index::{FlatVectorIndex, VectorConfig, VectorIndex};
use memd_store::{Filter, Memory, TenantId};

#[path = "../tests/support/rng.rs"]
mod rng;
use rng::Rng;

const DIM: usize = 384;

fn unit_vector(rng: &mut Rng) -> Vec<f32> {
    let mut v: Vec<f32> = (0..DIM).map(|_| rng.unit()).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// An index of `n` random unit vectors in one tenant, and 64 query vectors.
fn index(n: usize, config: VectorConfig) -> (FlatVectorIndex, TenantId, Vec<Vec<f32>>) {
    let tenant = TenantId::new("bench").expect("tenant");
    let mut rng = Rng(0x5eed);
    let idx = FlatVectorIndex::new(config);
    let items: Vec<(Memory, Vec<f32>)> = (0..n)
        .map(|i| (Memory::sample(tenant.clone(), format!("user{}", i % 10), "x"), unit_vector(&mut rng)))
        .collect();
    for chunk in items.chunks(10_000) {
        idx.upsert(chunk).expect("upsert");
    }
    let queries = (0..64).map(|_| unit_vector(&mut rng)).collect();
    (idx, tenant, queries)
}

fn exact_scan(c: &mut Criterion) {
    let mut group = c.benchmark_group("vector_exact_top10");
    for n in [20_000, 100_000] {
        let config = VectorConfig { hnsw_threshold: usize::MAX, ..VectorConfig::default() };
        let (idx, tenant, queries) = index(n, config);
        let mut i = 0;
        group.bench_function(format!("{n}x{DIM}"), |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                black_box(idx.search(&tenant, &queries[i], &Filter::default(), 10).expect("search"))
            })
        });
    }
    group.finish();
}

fn hnsw_query(c: &mut Criterion) {
    let (idx, tenant, queries) =
        index(100_000, VectorConfig { hnsw_threshold: 1_000, ..VectorConfig::default() });
    assert!(idx.rebuild_hnsw(&tenant), "graph built");
    let mut i = 0;
    c.bench_function("vector_hnsw_top10/100000x384", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(idx.search(&tenant, &queries[i], &Filter::default(), 10).expect("search"))
        })
    });
}

fn tokenisation(c: &mut Criterion) {
    let question = "When did Caroline go to the LGBTQ support group, and what did she paint afterwards?";
    let paragraph = "The memory server keeps what agents learn about their users and their work. Every \
        fact is stored with the tenant, the user, the agent and the session that produced it, together \
        with a timestamp, a set of tags and an embedding computed by a small sentence model.";
    c.bench_function("tokenise/query_15_words", |b| b.iter(|| black_box(memd_index::query_tokens(question))));
    c.bench_function("tokenise/document_50_words", |b| {
        b.iter(|| black_box(memd_index::document_tokens(paragraph)))
    });
}

criterion_group!(benches, exact_scan, hnsw_query, tokenisation);
criterion_main!(benches);
