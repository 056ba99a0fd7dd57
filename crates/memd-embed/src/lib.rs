//! memd-embed owns turning text into vectors: the [`Embedder`] trait, the local
//! all-MiniLM-L6-v2 model (int8 on ONNX Runtime, or f32 on candle), an OpenAI-compatible HTTP
//! embedder, model discovery and a bounded cache of query embeddings.
//!
//! Embedders are blocking; async callers run them on `spawn_blocking` or a dedicated thread.

use thiserror::Error;

pub mod cache;
pub mod discover;
pub mod minilm;
pub mod onnx;
pub mod openai;
mod vector;

pub use cache::{CacheStats, CachedEmbedder, QueryCache};
pub use discover::{
    default_onnx_model, discover_model_dir, discover_onnx_model, discover_onnx_runtime, INSTALL_COMMAND,
    MODEL_DIR_ENV, ONNX_INSTALL_COMMAND,
};
pub use minilm::MiniLmEmbedder;
pub use onnx::{onnx_model_id, OnnxEmbedder, OnnxPaths, ONNX_MODEL_ID_PREFIX};
pub use openai::OpenAiEmbedder;
pub use vector::{cosine, l2_normalize};

/// Turns texts into L2-normalised vectors of a fixed dimension.
pub trait Embedder: Send + Sync + 'static {
    /// A stable id of the model; stored with every vector so an index never mixes models.
    fn model_id(&self) -> &str;
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// One L2-normalised vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

#[derive(Debug, Error)]
pub enum EmbedError {
    /// The model could not be found or loaded; the message says how to fix it.
    #[error("embedding model unavailable: {0}")]
    ModelUnavailable(String),
    #[error("embedding failed: {0}")]
    Inference(String),
    #[error("embedding provider error: {0}")]
    Provider(String),
    #[error("invalid embedding input: {0}")]
    Invalid(String),
}
