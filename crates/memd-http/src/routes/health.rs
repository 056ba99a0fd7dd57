//! `/health` (liveness), `/health/ready` (readiness with components), `/metrics` (Prometheus).

use std::time::Instant;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::{AppState, Phase};

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, body = Liveness)))]
pub async fn live() -> Json<Liveness> {
    Json(Liveness { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

#[derive(Serialize, ToSchema)]
pub struct Component {
    pub name: &'static str,
    /// `healthy`, `degraded`, `unhealthy` or `critical` (best to worst).
    pub status: &'static str,
    pub detail: String,
    pub latency_ms: f64,
}

/// Failed embedding batches in a row from which the embedder counts as unhealthy.
const EMBED_FAILURES_UNHEALTHY: i64 = 3;

/// Whether a serving component (not disk or memory, which are reported but do not gate) is
/// critical.
pub fn blocks_serving(components: &[Component]) -> bool {
    components.iter().any(|c| c.status == "critical" && !matches!(c.name, "disk" | "memory"))
}

/// Statuses from best to worst, with the score each contributes to the overall health score.
pub const LEVELS: [(&str, f64); 4] =
    [("healthy", 1.0), ("degraded", 0.7), ("unhealthy", 0.3), ("critical", 0.0)];

fn level(status: &str) -> usize {
    LEVELS.iter().position(|(s, _)| *s == status).unwrap_or(LEVELS.len() - 1)
}

/// The worst status among `components` and the mean of their scores (1 when there are none).
pub fn overall(components: &[Component]) -> (&'static str, f64) {
    let worst = components.iter().map(|c| level(c.status)).max().unwrap_or(0);
    let score = if components.is_empty() {
        1.0
    } else {
        components.iter().map(|c| LEVELS[level(c.status)].1).sum::<f64>() / components.len() as f64
    };
    (LEVELS[worst].0, (score * 1000.0).round() / 1000.0)
}

/// Status of a fraction used (memory, disk): degraded above 80 %, unhealthy above 90 %,
/// critical above 97 %.
fn usage_status(used: f64) -> &'static str {
    match used {
        u if u > 0.97 => "critical",
        u if u > 0.90 => "unhealthy",
        u if u > 0.80 => "degraded",
        _ => "healthy",
    }
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `starting`, `draining` or `not_ready`.
    pub status: &'static str,
    pub components: Vec<Component>,
}

/// Readiness: 200 when serving; 503 while starting, draining or when a serving component (store,
/// indexes, embedder) is critical.
#[utoipa::path(get, path = "/health/ready", tag = "ops",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(State(s): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let components = components(&s).await;
    // Disk and memory are reported but do not gate readiness: a nearly full volume still serves
    // reads, and pulling every instance from a load balancer for it would turn a warning into
    // an outage (their alerts are MemdMemoryHigh and the disk component in /api/health).
    let critical = blocks_serving(&components);
    let status = match (s.phase(), critical) {
        (Phase::Starting, _) => "starting",
        (Phase::Draining, _) => "draining",
        (Phase::Ready, true) => "not_ready",
        (Phase::Ready, false) => "ready",
    };
    let code = if status == "ready" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Readiness { status, components }))
}

pub async fn components(s: &AppState) -> Vec<Component> {
    let (store, writable) = store(s).await;
    let mut out = vec![store];
    let (lex_seq, vec_seq) = s.service.indexer().applied();
    out.push(Component {
        name: "lexical_index",
        status: "healthy",
        detail: format!("{} docs, seq {lex_seq}", s.service.indexer().lexical().num_docs()),
        latency_ms: 0.0,
    });
    recount_pending(s).await;
    let pending = s.service.embed_pending();
    let failures = s.service.embed_failures();
    let (status, detail) = match s.service.embedder() {
        // Search falls back to keywords and writes wait in the queue: never critical.
        Some(e) if failures >= EMBED_FAILURES_UNHEALTHY => {
            ("unhealthy", format!("{}: {failures} batches failed in a row; {pending} pending", e.model_id()))
        }
        Some(e) if failures > 0 => {
            ("degraded", format!("{}: {failures} batches failed; {pending} pending", e.model_id()))
        }
        Some(e) => ("healthy", format!("{}; {pending} pending", e.model_id())),
        None => match s.service.embedder_error() {
            Some(why) => ("unhealthy", format!("{why}: keyword search only; writes waiting: {pending}")),
            None => ("degraded", "no embedder configured: keyword search only".to_owned()),
        },
    };
    out.push(Component {
        name: "vector_index",
        status: "healthy",
        detail: format!("{} vectors, seq {vec_seq}", s.service.indexer().vector().len()),
        latency_ms: 0.0,
    });
    out.push(Component { name: "embedder", status, detail, latency_ms: 0.0 });
    out.push(disk(&s.service.config().data_dir, writable));
    out.push(memory());
    out
}

/// The store answers a read and its data directory takes a write (the write probe's outcome is
/// returned for the disk component).
async fn store(s: &AppState) -> (Component, Result<(), String>) {
    let store = s.service.store().clone();
    let probe = s.data_dir.clone();
    let started = Instant::now();
    let checked = tokio::task::spawn_blocking(move || (store.ping(), probe.check())).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (status, detail, writable) = match checked {
        Ok((Ok(()), Ok(()))) => ("healthy", "ok".to_owned(), Ok(())),
        // Searches and reads are still answered; every write is refused with 503.
        Ok((Ok(()), Err(why))) => {
            ("unhealthy", format!("reads answer, writes fail: data directory: {why}"), Err(why))
        }
        Ok((Err(e), writable)) => ("critical", e.to_string(), writable),
        Err(e) => ("critical", e.to_string(), Err(e.to_string())),
    };
    (Component { name: "store", status, detail, latency_ms }, writable)
}

/// Free space of the data directory's file system, and whether it takes writes.
fn disk(dir: &std::path::Path, writable: Result<(), String>) -> Component {
    let (status, detail) = match (writable, crate::process::disk_usage(dir)) {
        (Err(why), _) => ("critical", format!("data directory {}: {why}", dir.display())),
        (Ok(()), Some((total, free))) if total > 0 => {
            let used = 1.0 - free as f64 / total as f64;
            (usage_status(used), format!("{:.1} % used, {} MiB free", used * 100.0, free >> 20))
        }
        (Ok(()), _) => ("unhealthy", format!("cannot read the file system of {}", dir.display())),
    };
    Component { name: "disk", status, detail, latency_ms: 0.0 }
}

/// Resident memory against the limit (cgroup, else machine).
fn memory() -> Component {
    let (status, detail) = match (crate::process::sample(), crate::process::memory_limit_bytes()) {
        (Some(p), Some(limit)) if limit > 0 => {
            let used = p.resident_memory_bytes as f64 / limit as f64;
            (
                usage_status(used),
                format!(
                    "{} MiB resident, {:.1} % of {} MiB",
                    p.resident_memory_bytes >> 20,
                    used * 100.0,
                    limit >> 20
                ),
            )
        }
        _ => ("healthy", "not measurable on this system".to_owned()),
    };
    Component { name: "memory", status, detail, latency_ms: 0.0 }
}

/// See [`memd_core::MemoryService::recount_pending`]; a failure is logged (the last count stays).
async fn recount_pending(s: &AppState) {
    if let Err(e) = s.service.recount_pending().await {
        tracing::warn!(event = "pending_not_recounted", error_type = e.code().name(), error = %e);
    }
}

/// Sets the gauges that are read rather than counted (queue, index sizes and lag, sessions,
/// memories stored — a store count, at most once a second), before a scrape or an alert
/// evaluation samples them.
pub async fn refresh_gauges(s: &AppState) {
    use memd_core::metrics as m;
    let indexer = s.service.indexer();
    recount_pending(s).await;
    ::metrics::gauge!(m::EMBED_PENDING).set(s.service.embed_pending() as f64);
    ::metrics::gauge!(m::INDEX_VECTORS).set(indexer.vector().len() as f64);
    ::metrics::gauge!(m::INDEX_LEXICAL_DOCS).set(indexer.lexical().num_docs() as f64);
    ::metrics::gauge!(m::INDEX_BACKGROUND_JOBS).set(indexer.vector().background_jobs() as f64);
    if let Err(e) = s.service.refresh_stored_gauge().await {
        let gauge = m::MEMORIES_STORED;
        tracing::warn!(event = "gauge_not_refreshed", error_type = e.code().name(), gauge, error = %e);
    }
    let (lexical, vector) = indexer.applied();
    // Other processes' commits show in the shared head; a store without one has no lag to see.
    let head = s.service.store().committed_seq_hint().unwrap_or(lexical.max(vector));
    for (index, applied) in [("lexical", lexical), ("vector", vector)] {
        ::metrics::gauge!(crate::observe::INDEX_SEQ_LAG, "index" => index)
            .set((head - applied).max(0) as f64);
    }
    if let Some(mcp) = &s.mcp {
        // Sessions also close by idling out, between requests: read the count at scrape time.
        ::metrics::gauge!(crate::routes::mcp::MCP_SESSIONS).set(mcp.open_sessions().await as f64);
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    refresh_gauges(&s).await;
    let text = crate::alerting::exposition(&s);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}
