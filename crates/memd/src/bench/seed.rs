//! Seeding the corpus through `POST /v1/memories/batch` (100 per request, several in flight),
//! resumable through a marker memory, and waiting until the server has embedded everything.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;
use serde_json::{json, Value};

use super::client::{memory_ids, Api};
use super::corpus::Corpus;
use super::ids::IdPool;
use super::stats::round2;

const BATCH: u64 = 100;
/// The user that holds "corpus seeded up to N" markers; never searched by the load.
const MARKER_USER: &str = "bench-meta";

/// What seeding did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SeedReport {
    /// Memories of this corpus (seed, users) already on the server before this run.
    pub existing: u64,
    pub seeded: u64,
    pub skipped: bool,
    pub elapsed_s: f64,
    pub memories_per_s: f64,
    /// Time spent waiting for `memd_embed_pending` to reach 0 (`--wait-embedded`).
    pub embed_wait_s: Option<f64>,
}

/// Seeds memories `existing..target` of the corpus unless they are already there.
pub async fn ensure_corpus(
    api: &Api,
    corpus: &Arc<Corpus>,
    target: u64,
    concurrency: usize,
    ids: &IdPool,
) -> anyhow::Result<SeedReport> {
    let existing = seeded_so_far(api, corpus).await?;
    if existing >= target {
        eprintln!("corpus: {existing} memories already seeded (seed {}), skipping", corpus.seed());
        return Ok(SeedReport { existing, skipped: true, ..SeedReport::default() });
    }
    eprintln!("seeding memories {existing}..{target} ({} users) …", corpus.users());
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(existing));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (api, corpus, next, done, ids) =
            (api.clone(), corpus.clone(), next.clone(), done.clone(), ids.clone());
        tasks.spawn(async move {
            loop {
                let start = next.fetch_add(BATCH, Ordering::Relaxed);
                if start >= target {
                    return anyhow::Ok(());
                }
                let end = (start + BATCH).min(target);
                let v = post_batch(&api, &corpus, start..end).await?;
                ids.extend(memory_ids(&v));
                done.fetch_add(end - start, Ordering::Relaxed);
            }
        });
    }
    let progress = tokio::spawn(report_progress(done.clone(), target - existing));
    let result = drain(&mut tasks).await;
    progress.abort();
    result?;
    let seeded = target - existing;
    let secs = started.elapsed().as_secs_f64();
    write_marker(api, corpus, target).await?;
    eprintln!("seeded {seeded} memories in {secs:.1} s ({:.0}/s)", seeded as f64 / secs);
    Ok(SeedReport {
        existing,
        seeded,
        skipped: false,
        elapsed_s: round2(secs),
        memories_per_s: round2(seeded as f64 / secs.max(1e-9)),
        embed_wait_s: None,
    })
}

async fn drain(tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>) -> anyhow::Result<()> {
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r.context("seeding task panicked")? {
            tasks.abort_all();
            return Err(e);
        }
    }
    Ok(())
}

/// One batch, retried on 429/503 and transport errors.
async fn post_batch(api: &Api, corpus: &Corpus, range: std::ops::Range<u64>) -> anyhow::Result<Value> {
    let body = json!({"memories": range.clone().map(|i| corpus.doc(i).to_json()).collect::<Vec<_>>()});
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match api.post("/v1/memories/batch", &body).await {
            Ok(r) if r.ok() => return r.json(),
            Ok(r) if r.status == 429 || r.status == 503 => format!("HTTP {}", r.status),
            Ok(r) => return r.into_json(&format!("seeding batch {range:?}")),
            Err(e) => e.to_string(),
        };
        if attempt >= 5 {
            bail!("seeding batch {range:?} failed {attempt} times, last: {err}");
        }
        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
    }
}

async fn report_progress(done: Arc<AtomicU64>, total: u64) {
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let d = done.load(Ordering::Relaxed);
        let rate = d as f64 / started.elapsed().as_secs_f64();
        eprintln!("  seeded {d}/{total} ({rate:.0}/s)");
    }
}

fn marker_filter(corpus: &Corpus) -> Value {
    json!({"bench_seed": corpus.seed(), "bench_users": corpus.users()})
}

/// The largest corpus size recorded by a marker for this seed and user count (0 when none).
async fn seeded_so_far(api: &Api, corpus: &Corpus) -> anyhow::Result<u64> {
    let filter = marker_filter(corpus).to_string();
    let q = [("user_id", MARKER_USER), ("metadata", filter.as_str()), ("limit", "1000")];
    let v = api
        .get("/v1/memories", &q)
        .await
        .context("listing seed markers")?
        .into_json("listing seed markers")?;
    let sizes = v["memories"].as_array().into_iter().flatten();
    Ok(sizes.filter_map(|m| m["metadata"]["bench_seeded"].as_u64()).max().unwrap_or(0))
}

async fn write_marker(api: &Api, corpus: &Corpus, seeded: u64) -> anyhow::Result<()> {
    let mut metadata = marker_filter(corpus);
    metadata["bench_seeded"] = json!(seeded);
    let body = json!({
        "user_id": MARKER_USER,
        "content": format!("memd bench corpus marker: seed {} users {} seeded {seeded}", corpus.seed(), corpus.users()),
        "tags": ["bench-marker"],
        "metadata": metadata,
    });
    api.post("/v1/memories", &body)
        .await
        .context("writing the seed marker")?
        .into_json("writing the seed marker")?;
    Ok(())
}

/// Fills the id pool from listings when seeding was skipped (so `get` has ids to fetch).
pub async fn collect_ids(api: &Api, corpus: &Corpus, ids: &IdPool) -> anyhow::Result<()> {
    for u in 0..corpus.users().min(10) {
        let user = corpus.user(u);
        let v = api.get("/v1/memories", &[("user_id", user.as_str()), ("limit", "500")]).await?;
        ids.extend(memory_ids(&v.into_json("listing memories")?));
    }
    Ok(())
}

/// Polls `/metrics` until `memd_embed_pending` and `memd_index_background_jobs` are both 0
/// (every memory embedded, and no ANN graph build running that would share the CPU with the
/// measured load); returns the seconds waited.
pub async fn wait_embedded(api: &Api) -> anyhow::Result<f64> {
    let started = Instant::now();
    let (mut last, mut last_change, mut last_print) = ((f64::NAN, f64::NAN), Instant::now(), Instant::now());
    loop {
        let Some(pending) = api.metric("memd_embed_pending").await? else {
            eprintln!("warning: /metrics has no memd_embed_pending; not waiting");
            return Ok(0.0);
        };
        // A server without the gauge has no background index work to wait for.
        let jobs = api.metric("memd_index_background_jobs").await?.unwrap_or(0.0);
        if pending <= 0.0 && jobs <= 0.0 {
            let waited = started.elapsed().as_secs_f64();
            eprintln!("embedding and index upkeep done after {waited:.1} s");
            return Ok(round2(waited));
        }
        if (pending, jobs) != last {
            (last, last_change) = ((pending, jobs), Instant::now());
        } else if pending > 0.0 && last_change.elapsed() > Duration::from_secs(180) {
            bail!("memd_embed_pending stuck at {pending} for 3 minutes");
        }
        if last_print.elapsed() >= Duration::from_secs(2) {
            eprintln!("  waiting: {pending} memories to embed, {jobs} index jobs");
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
