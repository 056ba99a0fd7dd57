//! The local embedder: all-MiniLM-L6-v2 (BERT, 384 dimensions) on candle, CPU only.
//!
//! Owns loading a Hugging Face model folder (config.json, tokenizer.json, model.safetensors),
//! tokenising with the sentence-transformers settings (no fixed padding, truncation at 256
//! tokens), batching by length, mean pooling over the attention mask and L2 normalisation —
//! reproducing `SentenceTransformer("all-MiniLM-L6-v2").encode(..., normalize_embeddings=True)`.

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams, TruncationStrategy};

use crate::discover::check_model_dir;
use crate::{l2_normalize, EmbedError, Embedder};

/// The id stored with every vector this embedder produces.
pub const MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// sentence-transformers' `max_seq_length` for this model (tokens, including [CLS] and [SEP]).
pub const MAX_TOKENS: usize = 256;
/// Texts per forward pass; texts are sorted by length first so a batch pads little.
pub const MAX_BATCH: usize = 32;

/// all-MiniLM-L6-v2 on candle. Shared across threads: inference only needs `&self`.
pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder")
            .field("model_id", &MODEL_ID)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

impl MiniLmEmbedder {
    /// Loads the model from a Hugging Face folder (see [`crate::discover_model_dir`]).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let started = Instant::now();
        check_model_dir(dir)?;
        let config = load_config(dir)?;
        let tokenizer = load_tokenizer(dir)?;
        let device = Device::Cpu;
        let weights = dir.join("model.safetensors");
        // SAFETY: the weights file is memory-mapped read-only while the tensors are built; memd
        // never writes to it, and candle copies the data into its own CPU buffers.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DTYPE, &device) }
            .map_err(|e| unavailable(dir, "model.safetensors", e))?;
        let model = BertModel::load(vb, &config).map_err(|e| unavailable(dir, "weights", e))?;
        tracing::info!(
            dir = %dir.display(),
            ms = started.elapsed().as_millis() as u64,
            "loaded all-MiniLM-L6-v2"
        );
        Ok(Self { model, tokenizer, device, dim: config.hidden_size })
    }

    /// One forward pass over up to [`MAX_BATCH`] token sequences; returns normalised vectors.
    fn embed_batch(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (ids, mask) = self.pad(seqs)?;
        let token_types = ids.zeros_like().map_err(infer)?;
        let hidden = self.model.forward(&ids, &token_types, Some(&mask)).map_err(infer)?;
        let mut vectors = mean_pool(&hidden, &mask).map_err(infer)?;
        vectors.iter_mut().for_each(|v| l2_normalize(v));
        Ok(vectors)
    }

    /// Right-pads to the longest sequence (pad id 0): `(input_ids, attention_mask)`, both u32.
    fn pad(&self, seqs: &[&[u32]]) -> Result<(Tensor, Tensor), EmbedError> {
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(seqs.len() * len);
        let mut mask = Vec::with_capacity(seqs.len() * len);
        for seq in seqs {
            ids.extend_from_slice(seq);
            ids.extend(std::iter::repeat_n(0u32, len - seq.len()));
            mask.extend(std::iter::repeat_n(1u32, seq.len()));
            mask.extend(std::iter::repeat_n(0u32, len - seq.len()));
        }
        let shape = (seqs.len(), len);
        let ids = Tensor::from_vec(ids, shape, &self.device).map_err(infer)?;
        let mask = Tensor::from_vec(mask, shape, &self.device).map_err(infer)?;
        Ok((ids, mask))
    }
}

impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        MODEL_ID
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        embed_sorted(&self.tokenizer, texts, |seqs| self.embed_batch(seqs))
    }
}

/// Tokenises `texts` (truncated to [`MAX_TOKENS`], unpadded), runs `forward` over batches of up
/// to [`MAX_BATCH`] sequences of similar length (so a batch pads little), and returns one
/// vector per text in input order.
pub(crate) fn embed_sorted(
    tokenizer: &Tokenizer,
    texts: &[&str],
    mut forward: impl FnMut(&[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError>,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let tokens = texts
        .iter()
        .map(|t| {
            tokenizer
                .encode(*t, true)
                .map(|enc| enc.get_ids().to_vec())
                .map_err(|e| EmbedError::Invalid(format!("tokenizer: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| tokens[i].len());
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(MAX_BATCH) {
        let seqs: Vec<&[u32]> = chunk.iter().map(|&i| tokens[i].as_slice()).collect();
        for (&i, v) in chunk.iter().zip(forward(&seqs)?) {
            out[i] = v;
        }
    }
    Ok(out)
}

/// Mean of the token vectors where the mask is 1: `[batch, seq, dim]` → `batch × dim`.
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Vec<Vec<f32>>> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    summed.broadcast_div(&counts)?.to_vec2::<f32>()
}

fn load_config(dir: &Path) -> Result<Config, EmbedError> {
    let text =
        std::fs::read_to_string(dir.join("config.json")).map_err(|e| unavailable(dir, "config.json", e))?;
    serde_json::from_str(&text).map_err(|e| unavailable(dir, "config.json", e))
}

/// Loads tokenizer.json and replaces its fixed 128-token padding and truncation with the
/// sentence-transformers settings; otherwise long texts are cut at 128 tokens.
pub(crate) fn load_tokenizer(dir: &Path) -> Result<Tokenizer, EmbedError> {
    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
        .map_err(|e| unavailable(dir, "tokenizer.json", e))?;
    let padding = PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        ..tokenizer.get_padding().cloned().unwrap_or_default()
    };
    tokenizer.with_padding(Some(padding));
    let truncation = TruncationParams {
        max_length: MAX_TOKENS,
        strategy: TruncationStrategy::LongestFirst,
        ..TruncationParams::default()
    };
    tokenizer.with_truncation(Some(truncation)).map_err(|e| unavailable(dir, "tokenizer.json", e))?;
    Ok(tokenizer)
}

fn unavailable(dir: &Path, what: &str, e: impl std::fmt::Display) -> EmbedError {
    EmbedError::ModelUnavailable(format!("cannot load {what} from {}: {e}", dir.display()))
}

fn infer(e: candle_core::Error) -> EmbedError {
    EmbedError::Inference(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn embedder_is_shareable() {
        assert_send_sync::<MiniLmEmbedder>();
    }

    #[test]
    fn load_reports_missing_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let err = MiniLmEmbedder::load(tmp.path()).expect_err("empty dir");
        assert!(err.to_string().contains("config.json"), "{err}");
    }
}
