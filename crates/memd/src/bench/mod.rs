//! `memd bench load`: seeds a realistic synthetic corpus into a running memd, drives a mixed
//! load (search, add, promote, get) from N concurrent workers for S seconds, and reports
//! per-operation throughput and latency percentiles — a table on stderr and, with `--json`, one
//! JSON object on stdout. `memd bench recall`: retrieval quality on LoCoMo (see [`recall`]).
//!
//! Modules: `rng` and `vocab`/`corpus` generate the text, `mix` chooses operations, `client`
//! speaks HTTP, `seed` loads the corpus, `load` runs the workers, `stats` keeps histograms,
//! `sysinfo` and `report` describe the machine and the result.

mod client;
mod corpus;
mod ids;
mod load;
mod locomo;
mod mcp;
mod mix;
mod recall;
mod report;
mod rng;
mod seed;
mod stats;
mod sysinfo;
mod vocab;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use self::client::Api;
use self::corpus::Corpus;
use self::ids::IdPool;
use self::load::Workload;
use self::mix::{Mix, Op};
use self::seed::SeedReport;

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Seed a synthetic corpus, drive a mixed load and report throughput and latency percentiles.
    Load(LoadArgs),
    /// Retrieval quality on LoCoMo: recall@5/10/25/50 per mode and category, in-process.
    Recall(recall::RecallArgs),
    /// `tools/call search_memories` latency over MCP (Streamable HTTP or stdio).
    Mcp(mcp::McpArgs),
    /// Print the `POST /v1/search` bodies `bench load` sends, one JSON object a line, for an
    /// external load tool (scripts/bench-wrk.sh); cold texts come without their unique suffix.
    Queries(QueriesArgs),
}

#[derive(Args, Debug, Clone)]
pub struct QueriesArgs {
    /// `cached`: the fixed queries of `bench load --queries cached`; `cold`: `--count` queries
    /// drawn as cold workers draw them.
    #[arg(long, value_enum, default_value_t = Queries::Cached)]
    pub queries: Queries,
    /// How many cold queries (ignored with `--queries cached`).
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Users the corpus is spread over (as in `bench load`).
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// Search mode written into each body.
    #[arg(long, value_enum, default_value_t = QueryMode::Hybrid)]
    pub query_mode: QueryMode,
    /// Seed of the corpus (as in `bench load`).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Base URL of the memd server.
    #[arg(long, default_value = "http://127.0.0.1:8420")]
    pub url: String,
    /// API key (sent as `Authorization: Bearer`); not needed in local mode.
    #[arg(long)]
    pub key: Option<String>,
    /// Concurrent workers (each keeps one request in flight).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Operation weights: search, add, promote, get.
    #[arg(long, default_value = "search=70,add=20,promote=5,get=5")]
    pub mix: Mix,
    /// Corpus size: 10k, 100k, 1m or a number.
    #[arg(long, default_value = "10k", value_parser = parse_size)]
    pub corpus: u64,
    /// Users the corpus is spread over (bench-u0, bench-u1, …).
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// Search mode of the `search` operation.
    #[arg(long, value_enum, default_value_t = QueryMode::Hybrid)]
    pub query_mode: QueryMode,
    /// `cold`: every query text is new (misses the query-embedding cache); `cached`: ~50 fixed
    /// queries, warmed first.
    #[arg(long, value_enum, default_value_t = Queries::Cold)]
    pub queries: Queries,
    /// Seed of the corpus and of the operation sequence.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Before the load, wait until /metrics shows memd_embed_pending 0 and no index upkeep
    /// (memd_index_background_jobs 0).
    #[arg(long)]
    pub wait_embedded: bool,
    /// Do not seed (nor check for) the corpus.
    #[arg(long)]
    pub skip_seed: bool,
    /// Batch requests in flight while seeding.
    #[arg(long, default_value_t = 4)]
    pub seed_concurrency: usize,
    /// The server's pid, for its memory use (default: found by the port when the URL is local).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Print one JSON object on stdout (the table still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryMode {
    Hybrid,
    Semantic,
    Keyword,
}

impl QueryMode {
    pub fn name(self) -> &'static str {
        match self {
            QueryMode::Hybrid => "hybrid",
            QueryMode::Semantic => "semantic",
            QueryMode::Keyword => "keyword",
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queries {
    Cold,
    Cached,
}

/// `10k` → 10 000, `1m` → 1 000 000, `2500` → 2 500.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (digits, factor) = match t.strip_suffix('k') {
        Some(d) => (d, 1_000),
        None => t.strip_suffix('m').map_or((t.as_str(), 1), |d| (d, 1_000_000)),
    };
    let n: u64 = digits.parse().map_err(|_| format!("`{s}`: expected 10k, 100k, 1m or a number"))?;
    Ok(n * factor)
}

pub fn run(global: &crate::cli::Global, cmd: BenchCmd) -> anyhow::Result<()> {
    let rt = crate::serve::runtime("memd-bench")?;
    match cmd {
        BenchCmd::Load(args) => rt.block_on(run_load(args)),
        BenchCmd::Recall(args) => rt.block_on(recall::run(global.load()?, args)),
        BenchCmd::Mcp(args) => rt.block_on(mcp::run(args, global.data_dir.clone())),
        BenchCmd::Queries(args) => print_queries(&args),
    }
}

async fn run_load(args: LoadArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.url, args.key.clone(), args.concurrency + args.seed_concurrency)?;
    let health =
        api.get("/health", &[]).await.with_context(|| format!("cannot reach memd at {}", api.base()))?;
    anyhow::ensure!(health.ok(), "{}/health answered HTTP {}", api.base(), health.status);
    let corpus = Arc::new(Corpus::new(args.seed, args.users));
    let ids = IdPool::default();
    let mut seeded = prepare(&api, &args, &corpus, &ids).await?;
    if args.wait_embedded {
        seeded.embed_wait_s = Some(seed::wait_embedded(&api).await?);
    }
    let workload = Arc::new(Workload {
        corpus: corpus.clone(),
        corpus_size: args.corpus,
        mix: args.mix.clone(),
        mode: args.query_mode.name(),
        cached: (args.queries == Queries::Cached).then(|| Workload::cached_set(&corpus, args.seed)),
        nonce: run_nonce(),
        seed: args.seed,
    });
    load::warm(&api, &workload).await?;
    eprintln!(
        "load: {} workers for {} s, mix {}, {} {} queries, corpus {} over {} users",
        args.concurrency,
        args.duration,
        args.mix,
        args.queries_name(),
        args.query_mode.name(),
        args.corpus,
        args.users
    );
    let duration = Duration::from_secs(args.duration);
    let (stats, elapsed) = load::drive(&api, workload, &ids, args.concurrency, duration).await?;
    let pid = args.pid.or_else(|| sysinfo::local_port(&args.url).and_then(sysinfo::pid_listening_on));
    let wanted: Vec<Op> = args.mix.ops().collect();
    let report = report::Report::new(&args, seeded, &stats, elapsed, &wanted, pid);
    eprint!("{}", report.table());
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

fn print_queries(args: &QueriesArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let corpus = Corpus::new(args.seed, args.users);
    let cached = args.queries == Queries::Cached;
    let bodies = load::search_bodies(&corpus, args.seed, args.query_mode.name(), cached, args.count);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for b in bodies {
        writeln!(out, "{b}")?;
    }
    out.flush()?;
    Ok(())
}

/// Seeds (or skips) the corpus and makes sure `get` has ids to fetch.
async fn prepare(
    api: &Api,
    args: &LoadArgs,
    corpus: &Arc<Corpus>,
    ids: &IdPool,
) -> anyhow::Result<SeedReport> {
    let report = if args.skip_seed {
        SeedReport { skipped: true, ..SeedReport::default() }
    } else {
        seed::ensure_corpus(api, corpus, args.corpus, args.seed_concurrency, ids).await?
    };
    if ids.len() == 0 && args.mix.weight(Op::Get) > 0 {
        seed::collect_ids(api, corpus, ids).await?;
    }
    Ok(report)
}

impl LoadArgs {
    fn queries_name(&self) -> &'static str {
        match self.queries {
            Queries::Cold => "cold",
            Queries::Cached => "cached",
        }
    }
}

/// Milliseconds since the epoch, modulo ~28 hours: distinct between runs, short in texts.
fn run_nonce() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_millis() as u64 % 100_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_sizes() {
        assert_eq!(parse_size("10k"), Ok(10_000));
        assert_eq!(parse_size("100K"), Ok(100_000));
        assert_eq!(parse_size("1m"), Ok(1_000_000));
        assert_eq!(parse_size("300"), Ok(300));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("").is_err());
    }
}
