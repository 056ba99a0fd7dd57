//! `memd serve`: logging, start-up (store, model, indexes), the HTTP server and graceful
//! shutdown on SIGINT/SIGTERM (stop accepting, drain, stop the embedder, persist indexes).

use std::time::Instant;

use anyhow::Context;
use memd_core::config::LogFormat;
use memd_http::{observe, AppState};
use memd_store::events::Severity;
use serde_json::json;
use tracing_subscriber::EnvFilter;

use crate::cli::{Global, ServeArgs};

/// Installs a new log filter (what a configuration reload calls for `log_level`).
pub type LogReload = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Logs to stderr in `format` at `level`; returns what changes the level later.
pub fn init_logging(format: LogFormat, level: &str) -> LogReload {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    fn reloader<S: 'static>(h: tracing_subscriber::reload::Handle<EnvFilter, S>) -> LogReload {
        Box::new(move |level: &str| {
            let filter = EnvFilter::try_new(level).map_err(|e| e.to_string())?;
            h.reload(filter).map_err(|e| e.to_string())
        })
    }
    // The reloadable filter wraps the formatting layer, so it is added after the format is set.
    match format {
        LogFormat::Json => {
            let b = builder.json().flatten_event(true).with_current_span(true).with_filter_reloading();
            let handle = b.reload_handle();
            let _ = b.try_init();
            reloader(handle)
        }
        LogFormat::Text => {
            let b = builder.with_filter_reloading();
            let handle = b.reload_handle();
            let _ = b.try_init();
            reloader(handle)
        }
    }
}

/// The multi-threaded async runtime every command runs on, its threads named `thread_name`.
pub fn runtime(thread_name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(thread_name)
        .build()
        .context("cannot start the async runtime")
}

pub fn run(global: &Global, _args: ServeArgs) -> anyhow::Result<()> {
    let cfg = global.load()?;
    let log = init_logging(cfg.log_format, &cfg.log_level);
    let source = std::sync::Arc::new(crate::reload::FileConfigSource::new(global.clone(), log));
    runtime("memd-rt")?.block_on(serve(cfg, source))
}

async fn serve(
    cfg: memd_core::Config,
    source: std::sync::Arc<crate::reload::FileConfigSource>,
) -> anyhow::Result<()> {
    let hup = crate::reload::catch_sighup();
    let started = Instant::now();
    let listen = cfg.listen;
    let metrics = if cfg.observe.metrics { observe::metrics_handle() } else { observe::metrics_off() };
    let (service, report) = tokio::task::spawn_blocking(move || memd_core::open(cfg)).await??;
    tracing::info!(
        event = "started_indexes",
        ms = report.total_ms,
        vectors = report.index.vectors_loaded,
        vector_load_ms = report.index.vector_load_ms,
        replayed = report.index.changes_replayed,
        embed_pending = report.embed_pending,
        embedder = report.embedder.as_deref().unwrap_or("none"),
    );
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let local = service.auth().local_mode()?;
    if local {
        tracing::warn!(
            event = "local_mode",
            "LOCAL MODE: no API keys exist and memd listens on loopback, so every request is served \
             as tenant 'default' without authentication. Create a key (memd keys create) to end it."
        );
    } else if !listen.ip().is_loopback() {
        tracing::info!(event = "auth_required", "listening beyond loopback: every request needs an API key");
    }
    let addr = listener.local_addr()?;
    let startup_ms = started.elapsed().as_millis() as u64;
    tracing::info!(event = "listening", %addr, startup_ms);
    let details = json!({"version": env!("CARGO_PKG_VERSION"), "listen": addr.to_string(), "startup_ms": startup_ms,
        "vectors": report.index.vectors_loaded, "embed_pending": report.embed_pending, "local_mode": local});
    service.record_event("started", Severity::Info, details).await;
    if let Some(why) = service.embedder_error() {
        let details = json!({"error": why, "effect": "keyword search only; writes queued for embedding"});
        service.record_event("embedder_unavailable", Severity::Error, details).await;
    }
    let housekeeping = tokio::spawn(housekeeping(service.clone()));
    let state = AppState::new(service.clone(), metrics).with_config_source(source);
    let reloads = crate::reload::on_sighup(state.clone(), hup);
    memd_http::serve(listener, state, shutdown_signal()).await?;
    housekeeping.abort();
    reloads.abort();
    if let Err(e) = service.flush_perf().await {
        tracing::warn!(event = "perf_flush_failed", error_type = e.code().name(), error = %e);
    }
    let uptime_s = started.elapsed().as_secs();
    service.record_event("stopped", Severity::Info, json!({"uptime_s": uptime_s, "reason": "signal"})).await;
    service.shutdown().await?;
    tracing::info!(event = "stopped", "embedding queue state and indexes persisted; bye");
    Ok(())
}

/// Every minute, moves the finished minutes of the performance history into the store; at start
/// and then hourly, applies the retention of events and performance history.
async fn housekeeping(service: memd_core::MemoryService) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    for tick in 0u64.. {
        every.tick().await;
        if let Err(e) = service.flush_perf().await {
            tracing::warn!(event = "perf_flush_failed", error_type = e.code().name(), error = %e);
        }
        if tick % 60 != 0 {
            continue;
        }
        let pruned = (service.prune_events().await, service.prune_perf().await);
        for (what, result) in [("events", pruned.0), ("perf_minutes", pruned.1)] {
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(event = "history_pruned", table = what, deleted = n),
                Err(e) => {
                    tracing::warn!(event = "history_prune_failed", table = what, error_type = e.code().name(), error = %e)
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
