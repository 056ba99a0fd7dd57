//! `memd bench mcp`: `tools/call search_memories` latency through the official Rust MCP client,
//! over Streamable HTTP (each worker its own session, as separate agents would be) or over stdio
//! (one `memd mcp` child process, the workers sharing its session as one client's parallel
//! calls would). Queries come from the `bench load` corpus generator with the same seed and
//! users, so run `memd bench load` first to seed the server; every query text is new (no cached
//! answers).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rmcp::model::CallToolRequestParams;
use rmcp::service::{Peer, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Map, Value};

use super::corpus::Corpus;
use super::rng::Rng;
use super::stats::{OpStats, OpSummary};
use super::QueryMode;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The running server's `/mcp`.
    Http,
    /// A `memd mcp` child process on `--data-dir`.
    Stdio,
}

#[derive(Args, Debug, Clone)]
pub struct McpArgs {
    #[arg(long, value_enum, default_value_t = Transport::Http)]
    pub transport: Transport,
    /// The MCP endpoint (http).
    #[arg(long, default_value = "http://127.0.0.1:8420/mcp")]
    pub url: String,
    /// API key (http; stdio reads MEMD_API_KEY like `memd mcp`).
    #[arg(long)]
    pub key: Option<String>,
    /// Concurrent callers.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Seconds of measurement, after a short warm-up.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Users of the seeded corpus (as given to `bench load`).
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// Seed of the seeded corpus (as given to `bench load`).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = QueryMode::Hybrid)]
    pub query_mode: QueryMode,
    #[arg(long)]
    pub json: bool,
}

type Client = RunningService<RoleClient, ()>;

async fn connect_http(args: &McpArgs) -> anyhow::Result<Client> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(args.url.as_str());
    if let Some(k) = &args.key {
        config = config.auth_header(k.clone());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    ().serve(transport).await.with_context(|| format!("MCP initialize at {}", args.url))
}

fn connect_stdio(data_dir: Option<PathBuf>) -> anyhow::Result<TokioChildProcess> {
    let exe = std::env::current_exe().context("locating the memd binary")?;
    let cmd = tokio::process::Command::new(exe).configure(|c| {
        c.arg("mcp");
        if let Some(d) = &data_dir {
            c.arg("--data-dir").arg(d);
        }
        c.env("MEMD_LOG_LEVEL", "warn");
    });
    Ok(TokioChildProcess::new(cmd)?)
}

pub async fn run(args: McpArgs, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let mut clients: Vec<Client> = Vec::new();
    let peers: Vec<Peer<RoleClient>> = match args.transport {
        Transport::Http => {
            for _ in 0..args.concurrency.max(1) {
                clients.push(connect_http(&args).await?);
            }
            clients.iter().map(|c| c.peer().clone()).collect()
        }
        Transport::Stdio => {
            let client = ().serve(connect_stdio(data_dir)?).await.context("MCP initialize over stdio")?;
            let peer = client.peer().clone();
            clients.push(client);
            vec![peer; args.concurrency.max(1)]
        }
    };
    let corpus = Arc::new(Corpus::new(args.seed, args.users));
    let mode = args.query_mode.name();
    // Warm-up: the first calls of a session (and of the model) are not typical.
    drive(&peers, &corpus, mode, Instant::now() + Duration::from_secs(2), 1).await;
    let started = Instant::now();
    let stats = drive(&peers, &corpus, mode, started + Duration::from_secs(args.duration), 2).await;
    let elapsed = started.elapsed();
    let summary = stats.summary(elapsed);
    for c in clients {
        let _ = c.cancel().await;
    }
    report(&args, &summary, elapsed)
}

/// All workers calling `search_memories` until `deadline`; `pass` keeps texts unique.
async fn drive(
    peers: &[Peer<RoleClient>],
    corpus: &Arc<Corpus>,
    mode: &'static str,
    deadline: Instant,
    pass: u64,
) -> OpStats {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, peer) in peers.iter().enumerate() {
        let (peer, corpus) = (peer.clone(), corpus.clone());
        tasks.spawn(async move {
            let mut rng = Rng::for_index(0x3C9 ^ pass, i as u64);
            let mut stats = OpStats::default();
            let mut sent = 0u64;
            while Instant::now() < deadline {
                sent += 1;
                let q = corpus.query(&mut rng);
                let args = json!({"query": format!("{} (note {nonce}-{pass}-{i}-{sent})", q.text),
                    "user_id": q.user_id, "top_k": 10, "mode": mode});
                let started = Instant::now();
                match call(&peer, args).await {
                    Ok(true) => stats.ok(started.elapsed()),
                    Ok(false) => stats.error("tool_error"),
                    Err(_) => stats.error("transport"),
                }
            }
            stats
        });
    }
    let mut total = OpStats::default();
    while let Some(s) = tasks.join_next().await {
        if let Ok(s) = s {
            total.merge(&s);
        }
    }
    total
}

/// One `search_memories` call; `Ok(false)` when the tool reported an error.
async fn call(peer: &Peer<RoleClient>, args: Value) -> anyhow::Result<bool> {
    let Value::Object(args) = args else { return Ok(false) };
    let params = CallToolRequestParams::new("search_memories").with_arguments(Map::from_iter(args));
    let r = peer.call_tool(params).await?;
    Ok(r.is_error != Some(true))
}

fn report(args: &McpArgs, s: &OpSummary, elapsed: Duration) -> anyhow::Result<()> {
    let transport = match args.transport {
        Transport::Http => "http",
        Transport::Stdio => "stdio",
    };
    let ms = |us: u64| us as f64 / 1000.0;
    eprintln!(
        "mcp {transport} search_memories ({}), concurrency {}, {:.1} s: {} calls, {:.1}/s, \
         p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {}",
        args.query_mode.name(),
        args.concurrency,
        elapsed.as_secs_f64(),
        s.count,
        s.ops_per_s,
        ms(s.p50_us),
        ms(s.p95_us),
        ms(s.p99_us),
        ms(s.max_us),
        s.errors
    );
    if args.json {
        let out = json!({"transport": transport, "tool": "search_memories", "mode": args.query_mode.name(),
            "concurrency": args.concurrency, "elapsed_s": elapsed.as_secs_f64(), "search": s});
        println!("{out}");
    }
    Ok(())
}
