//! `memd serve`: logging, start-up (store, model, indexes), the HTTP server and graceful
//! shutdown on SIGINT/SIGTERM (stop accepting, drain, stop the embedder, persist indexes).

use std::time::Instant;

use anyhow::Context;
use memd_core::config::LogFormat;
use memd_http::{observe, AppState};
use tracing_subscriber::EnvFilter;

use crate::cli::{Global, ServeArgs};

pub fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
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
    init_logging(cfg.log_format, &cfg.log_level);
    runtime("memd-rt")?.block_on(serve(cfg))
}

async fn serve(cfg: memd_core::Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let listen = cfg.listen;
    let metrics = observe::metrics_handle();
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
    tracing::info!(event = "listening", addr = %listener.local_addr()?, startup_ms = started.elapsed().as_millis() as u64);
    let state = AppState::new(service.clone(), metrics);
    memd_http::serve(listener, state, shutdown_signal()).await?;
    service.shutdown().await?;
    tracing::info!(event = "stopped", "embedding queue state and indexes persisted; bye");
    Ok(())
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
