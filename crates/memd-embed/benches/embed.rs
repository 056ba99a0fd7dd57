//! Criterion micro-benchmarks of the default embedder (the quantised all-MiniLM-L6-v2 on ONNX
//! Runtime, one session): one short sentence, and a batch of 32. Needs the model installed
//! (`scripts/ensure-model.sh`). `cargo bench -p memd-embed`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use memd_embed::{
    discover_model_dir, discover_onnx_model, discover_onnx_runtime, Embedder, OnnxEmbedder, OnnxPaths,
};

fn embedder() -> OnnxEmbedder {
    let explicit = std::env::var_os(memd_embed::MODEL_DIR_ENV).map(std::path::PathBuf::from);
    let paths = OnnxPaths {
        model: discover_onnx_model(None).expect("model (scripts/ensure-model.sh)"),
        tokenizer_dir: discover_model_dir(explicit.as_deref()).expect("tokenizer"),
        runtime: discover_onnx_runtime(None).expect("ONNX Runtime"),
    };
    OnnxEmbedder::load(&paths, 1).expect("load")
}

fn embedding(c: &mut Criterion) {
    let model = embedder();
    let sentence = "Alice has an espresso every day at 7am.";
    c.bench_function("embed/one_short_sentence", |b| {
        b.iter(|| black_box(model.embed(&[sentence]).expect("embed")))
    });
    let batch: Vec<String> = (0..32)
        .map(|i| format!("Note {i}: the team agreed to move the weekly review to Thursday afternoon."))
        .collect();
    let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
    let mut group = c.benchmark_group("embed");
    group.sample_size(20);
    group.bench_function("batch_of_32_short", |b| b.iter(|| black_box(model.embed(&batch).expect("embed"))));
    group.finish();
}

criterion_group!(benches, embedding);
criterion_main!(benches);
