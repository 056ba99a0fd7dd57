//! Opening a service from configuration: the store, the embedder (refusing to mix models), the
//! derived indexes (loaded and caught up) and the embedding pipeline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use memd_embed::Embedder;
use memd_index::{LexicalIndex, VectorIndex};
use memd_store::sqlite::{SqliteOptions, SqliteStore};
use memd_store::Store;

use crate::auth::Authenticator;
use crate::config::{Config, EmbedConfig, EmbedProvider};
use crate::indexer::{Indexer, LoadReport};
use crate::pipeline::{EmbedPipeline, PipelineState};
use crate::service::{Inner, MemoryService};
use crate::ServiceError;
use memd_embed::QueryCache;

/// What start-up did, for the log and for benchmarks.
#[derive(Clone, Debug)]
pub struct StartupReport {
    pub total_ms: u128,
    pub index: LoadReport,
    pub embedder: Option<String>,
    pub requeued_for_model_change: u64,
    pub embed_pending: u64,
}

/// Builds the embedder the configuration selects (`None` for provider `none`).
pub fn build_embedder(cfg: &EmbedConfig) -> Result<Option<Arc<dyn Embedder>>, ServiceError> {
    let timeout = Duration::from_millis(cfg.timeout_ms);
    Ok(match cfg.provider {
        EmbedProvider::None => None,
        EmbedProvider::Onnx => {
            let paths = memd_embed::OnnxPaths {
                model: memd_embed::discover_onnx_model(cfg.onnx_model.as_deref())?,
                tokenizer_dir: memd_embed::discover_model_dir(cfg.model_dir.as_deref())?,
                runtime: memd_embed::discover_onnx_runtime(cfg.onnx_runtime.as_deref())?,
            };
            let sessions = match cfg.onnx_sessions {
                0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
                n => n,
            };
            Some(Arc::new(memd_embed::OnnxEmbedder::load(&paths, sessions)?))
        }
        EmbedProvider::Candle => {
            let dir = memd_embed::discover_model_dir(cfg.model_dir.as_deref())?;
            Some(Arc::new(memd_embed::MiniLmEmbedder::load(&dir)?))
        }
        EmbedProvider::Openai => {
            let (Some(base), Some(model)) = (&cfg.openai_base_url, &cfg.openai_model) else {
                return Err(ServiceError::invalid(
                    "invalid_config",
                    "openai embedder needs base url and model",
                ));
            };
            let e = memd_embed::OpenAiEmbedder::new(
                base,
                model,
                cfg.openai_api_key.clone(),
                cfg.openai_dim,
                timeout,
            )?;
            Some(Arc::new(e))
        }
    })
}

/// Opens everything the configuration describes. Blocking (loads the model and the indexes).
///
/// When the embedding model cannot be loaded (files missing or unreadable) and `embed.required`
/// is off, memd starts without it rather than not at all: searches answer from keywords (marked
/// `degraded`), writes are stored and queued, the embedder health component is unhealthy with
/// the reason, and the queue is embedded once the model is back and memd restarts.
pub fn open(cfg: Config) -> Result<(MemoryService, StartupReport), ServiceError> {
    match build_embedder(&cfg.embed) {
        Ok(embedder) => open_with(cfg, embedder),
        Err(ServiceError::Unavailable(why)) if !cfg.embed.required => {
            tracing::error!(
                event = "embedder_unavailable",
                error_type = "model_unavailable",
                error = %why,
                "the embedding model cannot be loaded: serving keyword search only; writes are \
                 kept and queued for embedding (set embed.required to refuse to start instead)"
            );
            open_inner(cfg, None, Some(why))
        }
        Err(e) => Err(e),
    }
}

/// Like [`open`] with an embedder supplied by the caller (tests use a deliberately failing one).
pub fn open_with(
    cfg: Config,
    embedder: Option<Arc<dyn Embedder>>,
) -> Result<(MemoryService, StartupReport), ServiceError> {
    open_inner(cfg, embedder, None)
}

/// `embedder_error`: why the configured embedder is missing (then writes still count as pending).
fn open_inner(
    cfg: Config,
    embedder: Option<Arc<dyn Embedder>>,
    embedder_error: Option<String>,
) -> Result<(MemoryService, StartupReport), ServiceError> {
    let started = Instant::now();
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
        ServiceError::Unavailable(format!("cannot create data_dir {}: {e}", cfg.data_dir.display()))
    })?;
    let opts = SqliteOptions { durability: cfg.storage.durability, readers: cfg.storage.readers };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&cfg.db_path(), opts)?);
    let requeued = match &embedder {
        Some(e) => check_model(store.as_ref(), e.model_id())?,
        None => 0,
    };
    let lexical = open_lexical(&cfg)?;
    let vector: Arc<dyn VectorIndex> =
        Arc::new(memd_index::FlatVectorIndex::new(memd_index::VectorConfig::default()));
    let model = embedder.as_ref().map(|e| e.model_id().to_owned());
    let (indexer, index_report) = Indexer::open(store.clone(), lexical, vector, model)?;
    let indexer = Arc::new(indexer);
    let state = Arc::new(PipelineState::default());
    let embed_pending = store.pending_count()?;
    if embedder.is_some() || embedder_error.is_some() {
        state.pending.store(embed_pending as i64, std::sync::atomic::Ordering::Relaxed);
    }
    let pipeline = match &embedder {
        Some(e) => Some(
            EmbedPipeline::start(
                store.clone(),
                e.clone(),
                indexer.clone(),
                cfg.embed.batch_size,
                state.clone(),
            )
            .map_err(|err| ServiceError::Internal(format!("cannot start embedding thread: {err}")))?,
        ),
        None => None,
    };
    let auth = Authenticator::new(store.clone(), cfg.listen.ip().is_loopback(), cfg.admin_token.clone());
    let report = StartupReport {
        total_ms: started.elapsed().as_millis(),
        index: index_report,
        embedder: embedder.as_ref().map(|e| e.model_id().to_owned()),
        requeued_for_model_change: requeued,
        embed_pending,
    };
    let inner = Inner {
        query_cache: QueryCache::new(cfg.embed.query_cache_size),
        result_cache: crate::result_cache::ResultCache::new(cfg.search.result_cache_mb),
        perf: crate::perf::PerfRecorder::new(cfg.observe.metrics),
        cfg: arc_swap::ArcSwap::from_pointee(cfg),
        store,
        indexer,
        embedder,
        embedder_error,
        pipeline,
        pipeline_state: state,
        auth,
        started_at: Utc::now(),
        stored_gauge: Default::default(),
    };
    Ok((MemoryService::from_inner(inner), report))
}

/// The persisted lexical index, or, when another memd process on this data directory holds it
/// (`memd serve` beside the `memd mcp` processes a client starts), a private in-memory one that
/// the change log fills and keeps current. Both processes keep working; see
/// [`Indexer::behind`](crate::indexer::Indexer::behind).
fn open_lexical(cfg: &Config) -> Result<Arc<dyn LexicalIndex>, ServiceError> {
    let dir = cfg.lexical_dir();
    let lexical = memd_index::LexicalConfig { bm25_b: cfg.search.bm25_b, ..Default::default() };
    match memd_index::TantivyLexical::open_with(&dir, lexical.clone()) {
        Ok(index) => Ok(Arc::new(index)),
        Err(memd_index::IndexError::Locked(why)) => {
            tracing::info!(
                event = "lexical_index_shared",
                dir = %dir.display(),
                reason = %why,
                "another memd process holds the lexical index on this data directory: \
                 this one keeps its own in memory, filled from the store"
            );
            Ok(Arc::new(memd_index::TantivyLexical::in_ram_with(lexical)?))
        }
        Err(e) => Err(e.into()),
    }
}

/// Vectors from another model are never mixed into the index: they are left out of it and every
/// affected memory is queued for re-embedding with the configured model.
fn check_model(store: &dyn Store, model: &str) -> Result<u64, ServiceError> {
    let others: Vec<_> =
        store.embedding_models()?.into_iter().filter(|(m, n)| m != model && *n > 0).collect();
    if others.is_empty() {
        return Ok(0);
    }
    let n = store.requeue_for_model(model)?;
    tracing::warn!(
        event = "embedding_model_changed",
        model,
        previous = ?others,
        requeued = n,
        "stored vectors come from another model: re-embedding them in the background; \
         semantic search covers them as they finish (memd_embed_pending shows progress)"
    );
    Ok(n)
}
