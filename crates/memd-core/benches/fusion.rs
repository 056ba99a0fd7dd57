//! Criterion micro-benchmark of fusion: two candidate lists of 100 hits each (half of them in
//! both, as a hybrid search of `search.candidates` 100 produces), weighted and RRF.
//! `cargo bench -p memd-core`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use memd_core::fusion::{fuse, FusionMethod, FusionParams};
use memd_index::Hit;
use uuid::Uuid;

fn hits(ids: impl Iterator<Item = u128>, top: f32) -> Vec<Hit> {
    ids.enumerate()
        .map(|(rank, id)| Hit { id: Uuid::from_u128(id), score: top / (1.0 + rank as f32) })
        .collect()
}

fn fusion(c: &mut Criterion) {
    let keyword = hits(0..100, 12.0);
    let semantic = hits(50..150, 0.8);
    for (name, method) in [("weighted", FusionMethod::Weighted), ("rrf", FusionMethod::Rrf)] {
        let params = FusionParams { method, rrf_k: 60.0, semantic_weight: 0.3 };
        c.bench_function(&format!("fuse_100+100/{name}"), |b| {
            b.iter(|| black_box(fuse(black_box(&keyword), black_box(&semantic), params)))
        });
    }
}

criterion_group!(benches, fusion);
criterion_main!(benches);
