//! `memd bench recall`: retrieval quality on LoCoMo through the service layer (the same code the
//! REST API and MCP call), without an LLM.
//!
//! Each conversation is ingested as one user of a fresh, throw-away data directory (the
//! configuration otherwise as `memd serve` would load it: `memd.toml`, `MEMD_*`), embedded,
//! then every question is asked in each mode with `top_k` 50. Recall@k per question is
//! |evidence ∩ top-k| / |evidence| (1 when a question has no evidence), averaged overall, per
//! category and without category 5 (adversarial). Also reported: ingest time and query latency
//! (with the query-embedding cache off, so every semantic or hybrid query embeds its text).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use memd_core::{AddMemory, Caller, Config, FilterParams, MemoryService, SearchMode, SearchRequest};
use serde::Serialize;

use super::locomo::{self, Conversation, Question};

pub const KS: [usize; 4] = [5, 10, 25, 50];

#[derive(Args, Debug, Clone)]
pub struct RecallArgs {
    /// The LoCoMo JSON file (e.g. ../shared/bench/locomo/locomo-dev.json).
    #[arg(long)]
    pub dataset: PathBuf,
    /// Modes to evaluate, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "keyword,semantic,hybrid")]
    pub modes: Vec<RecallMode>,
    /// Only the first N conversations (all by default).
    #[arg(long)]
    pub conversations: Option<usize>,
    /// Print one JSON object on stdout (the table still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecallMode {
    Keyword,
    Semantic,
    Hybrid,
}

impl RecallMode {
    fn search_mode(self) -> SearchMode {
        match self {
            RecallMode::Keyword => SearchMode::Keyword,
            RecallMode::Semantic => SearchMode::Semantic,
            RecallMode::Hybrid => SearchMode::Hybrid,
        }
    }
}

/// Mean recall at each of [`KS`] over a set of questions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecallAt {
    pub questions: usize,
    #[serde(rename = "r@5")]
    pub r5: f64,
    #[serde(rename = "r@10")]
    pub r10: f64,
    #[serde(rename = "r@25")]
    pub r25: f64,
    #[serde(rename = "r@50")]
    pub r50: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    pub overall: RecallAt,
    pub without_adversarial: RecallAt,
    pub by_category: BTreeMap<u8, RecallAt>,
    pub query_p50_ms: f64,
    pub query_p95_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecallReport {
    pub dataset: String,
    pub conversations: usize,
    pub memories: usize,
    pub questions: usize,
    pub embed_model: Option<String>,
    pub ingest_s: f64,
    pub modes: BTreeMap<RecallMode, ModeReport>,
}

pub async fn run(config: Config, args: RecallArgs) -> anyhow::Result<()> {
    let mut convs = locomo::load(&args.dataset)?;
    if let Some(n) = args.conversations {
        convs.truncate(n);
    }
    anyhow::ensure!(!convs.is_empty(), "{} holds no conversation", args.dataset.display());
    let dir = std::env::temp_dir().join(format!("memd-recall-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(dir.clone());
    // No query-embedding cache: every mode's latency includes embedding its query.
    let mut cfg = Config { data_dir: dir, ..config };
    cfg.embed.query_cache_size = 0;
    let (service, _) =
        tokio::task::spawn_blocking(move || memd_core::open(cfg)).await?.context("cannot open memd")?;
    let caller = Caller::local();
    let started = Instant::now();
    // user -> (memory id -> dia_id)
    let mut turn_of = BTreeMap::new();
    for c in &convs {
        turn_of.insert(c.sample_id.clone(), ingest(&service, &caller, c).await?);
    }
    wait_embedded(&service).await?;
    let ingest_s = started.elapsed().as_secs_f64();
    eprintln!("ingested {} memories in {ingest_s:.1} s", turn_of.values().map(|m| m.len()).sum::<usize>());
    let mut modes = BTreeMap::new();
    for &mode in &args.modes {
        modes.insert(mode, evaluate(&service, &caller, &convs, &turn_of, mode).await?);
    }
    let report = RecallReport {
        dataset: args.dataset.display().to_string(),
        conversations: convs.len(),
        memories: convs.iter().map(|c| c.turns.len()).sum(),
        questions: convs.iter().map(|c| c.questions.len()).sum(),
        embed_model: service.embedder().map(|e| e.model_id().to_owned()),
        ingest_s,
        modes,
    };
    eprint!("{}", table(&report));
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    service.shutdown().await.ok();
    Ok(())
}

/// Adds every turn of `c` as a memory of user `c.sample_id`; returns memory id → dia_id.
async fn ingest(
    service: &MemoryService,
    caller: &Caller,
    c: &Conversation,
) -> anyhow::Result<BTreeMap<uuid::Uuid, String>> {
    let mut out = BTreeMap::new();
    let batch = service.config().limits.max_batch;
    for chunk in c.turns.chunks(batch) {
        let reqs = chunk
            .iter()
            .map(|t| AddMemory {
                content: t.content.clone(),
                user_id: Some(c.sample_id.clone()),
                event_time: t.event_time,
                ..Default::default()
            })
            .collect();
        let added =
            service.add_batch(caller, reqs).await.with_context(|| format!("ingest {}", c.sample_id))?;
        for (m, t) in added.iter().zip(chunk) {
            out.insert(m.id, t.dia_id.clone());
        }
    }
    Ok(out)
}

async fn wait_embedded(service: &MemoryService) -> anyhow::Result<()> {
    if service.embedder().is_none() {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    while service.embed_pending() > 0 {
        anyhow::ensure!(Instant::now() < deadline, "embedding did not finish in 30 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn evaluate(
    service: &MemoryService,
    caller: &Caller,
    convs: &[Conversation],
    turn_of: &BTreeMap<String, BTreeMap<uuid::Uuid, String>>,
    mode: RecallMode,
) -> anyhow::Result<ModeReport> {
    let mut scored: Vec<(u8, [f64; 4])> = Vec::new();
    let mut latencies = Vec::new();
    for c in convs {
        let turns = &turn_of[&c.sample_id];
        for q in &c.questions {
            let req = SearchRequest {
                query: q.text.clone(),
                filter: FilterParams { user_id: Some(c.sample_id.clone()), ..Default::default() },
                top_k: Some(KS[KS.len() - 1]),
                mode: mode.search_mode(),
                fusion: None,
            };
            let started = Instant::now();
            let r = service.search(caller, req).await.with_context(|| format!("search {:?}", q.text))?;
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            let ranked: Vec<&str> =
                r.results.iter().filter_map(|h| turns.get(&h.memory.id).map(String::as_str)).collect();
            scored.push((q.category, recall_at(q, &ranked)));
        }
    }
    latencies.sort_by(f64::total_cmp);
    let mut by_category: BTreeMap<u8, Vec<[f64; 4]>> = BTreeMap::new();
    for (cat, r) in &scored {
        by_category.entry(*cat).or_default().push(*r);
    }
    let all: Vec<[f64; 4]> = scored.iter().map(|(_, r)| *r).collect();
    let no_adv: Vec<[f64; 4]> = scored.iter().filter(|(c, _)| *c != 5).map(|(_, r)| *r).collect();
    Ok(ModeReport {
        overall: mean(&all),
        without_adversarial: mean(&no_adv),
        by_category: by_category.iter().map(|(c, rs)| (*c, mean(rs))).collect(),
        query_p50_ms: percentile(&latencies, 0.50),
        query_p95_ms: percentile(&latencies, 0.95),
    })
}

/// Recall of `q`'s evidence in the first k of `ranked`, for each k of [`KS`].
pub fn recall_at(q: &Question, ranked: &[&str]) -> [f64; 4] {
    KS.map(|k| {
        if q.evidence.is_empty() {
            return 1.0;
        }
        let top = &ranked[..k.min(ranked.len())];
        let hit = q.evidence.iter().filter(|e| top.contains(&e.as_str())).count();
        hit as f64 / q.evidence.len() as f64
    })
}

fn mean(rs: &[[f64; 4]]) -> RecallAt {
    let n = rs.len().max(1) as f64;
    let avg = |i: usize| rs.iter().map(|r| r[i]).sum::<f64>() / n;
    RecallAt { questions: rs.len(), r5: avg(0), r10: avg(1), r25: avg(2), r50: avg(3) }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn table(r: &RecallReport) -> String {
    let mut out = format!(
        "LoCoMo recall: {} conversations, {} memories, {} questions, model {}, ingest {:.1} s\n",
        r.conversations,
        r.memories,
        r.questions,
        r.embed_model.as_deref().unwrap_or("none"),
        r.ingest_s
    );
    out.push_str("mode      subset            n     R@5    R@10    R@25    R@50   p50 ms  p95 ms\n");
    for (mode, m) in &r.modes {
        let name = format!("{mode:?}").to_lowercase();
        let mut rows =
            vec![("all".to_owned(), &m.overall), ("without cat 5".to_owned(), &m.without_adversarial)];
        rows.extend(m.by_category.iter().map(|(c, r)| (format!("category {c}"), r)));
        for (i, (subset, x)) in rows.iter().enumerate() {
            let lat =
                if i == 0 { format!("{:8.2}{:8.2}", m.query_p50_ms, m.query_p95_ms) } else { String::new() };
            out.push_str(&format!(
                "{name:<9} {subset:<14} {:>5} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {lat}\n",
                x.questions, x.r5, x.r10, x.r25, x.r50
            ));
        }
    }
    out
}

/// Removes the throw-away data directory when the run ends, however it ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(evidence: &[&str]) -> Question {
        Question { text: "q".into(), category: 1, evidence: evidence.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn recall_counts_evidence_in_the_top_k() {
        let ranked: Vec<String> = (1..=60).map(|i| format!("D1:{i}")).collect();
        let ranked: Vec<&str> = ranked.iter().map(String::as_str).collect();
        assert_eq!(recall_at(&q(&["D1:1", "D1:4"]), &ranked), [1.0, 1.0, 1.0, 1.0]);
        assert_eq!(recall_at(&q(&["D1:1", "D1:7"]), &ranked), [0.5, 1.0, 1.0, 1.0]);
        assert_eq!(recall_at(&q(&["D1:1", "D1:30"]), &ranked), [0.5, 0.5, 0.5, 1.0]);
        assert_eq!(recall_at(&q(&["D9:9"]), &ranked), [0.0; 4]);
        assert_eq!(recall_at(&q(&[]), &[]), [1.0; 4], "no evidence counts 1");
    }

    #[test]
    fn means_and_percentiles() {
        let m = mean(&[[1.0, 1.0, 1.0, 1.0], [0.0, 0.5, 1.0, 1.0]]);
        assert_eq!((m.questions, m.r5, m.r10, m.r25), (2, 0.5, 0.75, 1.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.5), 3.0);
    }
}
