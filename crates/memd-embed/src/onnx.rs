//! all-MiniLM-L6-v2 quantised to int8 on ONNX Runtime: the fast local embedder.
//!
//! The candle embedder ([`crate::MiniLmEmbedder`]) runs the f32 model at ~10–15 ms per short
//! query on one core here; ONNX Runtime's integer kernels (VNNI where the CPU has it) run the
//! dynamically quantised model (`scripts/quantize-model.py`) in ~3 ms, which is what keeps a cold
//! hybrid search inside its latency budget. Any ONNX export of the model works; its vectors
//! differ from the f32 model's (cosine ~0.99 for the quantised one), so each vector carries a
//! model id derived from the model file's contents ([`onnx_model_id`]): a different file, even
//! one quantised differently, is never mixed with another's vectors.
//!
//! Owns: loading ONNX Runtime's shared library at run time (`load-dynamic`: no C++ toolchain or
//! download at build time; the library comes from the PyPI package `onnxruntime`), a small pool
//! of single-threaded sessions (a session runs one inference at a time, and one thread per
//! inference gives the best throughput when many searches run at once), tokenising exactly like
//! the candle embedder (same `tokenizer.json`), mean pooling and L2 normalisation.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::minilm::load_tokenizer;
use crate::{l2_normalize, EmbedError, Embedder};

/// How the id stored with every vector this embedder produces begins; [`onnx_model_id`] adds
/// the model file's fingerprint.
pub const ONNX_MODEL_ID_PREFIX: &str = "all-MiniLM-L6-v2-onnx-";
const DIM: usize = 384;

/// Where the embedder's three parts are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnnxPaths {
    /// The `model.onnx` (by default the dynamically quantised one, [`crate::default_onnx_model`]).
    pub model: PathBuf,
    /// A folder holding `tokenizer.json` (the f32 model's folder).
    pub tokenizer_dir: PathBuf,
    /// ONNX Runtime's `libonnxruntime.so`.
    pub runtime: PathBuf,
}

/// all-MiniLM-L6-v2 (int8) on ONNX Runtime. Shared across threads.
pub struct OnnxEmbedder {
    model_id: String,
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
    tokenizer: Tokenizer,
}

impl std::fmt::Debug for OnnxEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxEmbedder")
            .field("model_id", &self.model_id)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// The ONNX Runtime environment of this process. The runtime library can be loaded once per
/// process, so the first path given wins; sessions keep the environment alive.
static RUNTIME: OnceLock<Result<Environment, String>> = OnceLock::new();

fn init_runtime(lib: &Path) -> Result<&'static Environment, EmbedError> {
    let loaded = RUNTIME.get_or_init(|| {
        if !lib.is_file() {
            return Err(format!("ONNX Runtime library {} does not exist", lib.display()));
        }
        let builder = ort::init_from(lib).map_err(|e| format!("cannot load {}: {e}", lib.display()))?;
        builder.with_name("memd").build().map_err(|e| format!("cannot start ONNX Runtime: {e}"))
    });
    match loaded {
        Ok(env) => Ok(env),
        Err(e) => Err(EmbedError::ModelUnavailable(e.clone())),
    }
}

impl OnnxEmbedder {
    /// Loads the runtime, the model (`sessions` copies, at least one) and the tokenizer.
    pub fn load(paths: &OnnxPaths, sessions: usize) -> Result<Self, EmbedError> {
        let started = Instant::now();
        let env = init_runtime(&paths.runtime)?;
        if !paths.model.is_file() {
            return Err(EmbedError::ModelUnavailable(format!(
                "ONNX model {} does not exist",
                paths.model.display()
            )));
        }
        let tokenizer = load_tokenizer(&paths.tokenizer_dir)?;
        let bytes = std::fs::read(&paths.model).map_err(|e| {
            EmbedError::ModelUnavailable(format!("cannot read ONNX model {}: {e}", paths.model.display()))
        })?;
        let model_id = onnx_model_id(&bytes);
        let sessions = (0..sessions.max(1))
            .map(|_| open_session(env, &paths.model, &bytes).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        tracing::info!(
            model = %paths.model.display(),
            model_id = %model_id,
            runtime = %paths.runtime.display(),
            sessions = sessions.len(),
            ms = started.elapsed().as_millis() as u64,
            "loaded all-MiniLM-L6-v2 on ONNX Runtime"
        );
        Ok(Self { model_id, sessions, next: AtomicUsize::new(0), tokenizer })
    }

    /// One forward pass over up to [`crate::minilm::MAX_BATCH`] token sequences; returns normalised vectors.
    fn embed_batch(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let shape = [seqs.len(), len];
        let mut ids = Vec::with_capacity(seqs.len() * len);
        let mut mask = Vec::with_capacity(seqs.len() * len);
        for seq in seqs {
            ids.extend(seq.iter().map(|&t| i64::from(t)));
            ids.extend(std::iter::repeat_n(0i64, len - seq.len()));
            mask.extend(std::iter::repeat_n(1i64, seq.len()));
            mask.extend(std::iter::repeat_n(0i64, len - seq.len()));
        }
        let types = vec![0i64; ids.len()];
        let mut session = self.session();
        let outputs = session
            .run(ort::inputs! {
                "input_ids" => TensorRef::from_array_view((shape, ids.as_slice())).map_err(infer)?,
                "attention_mask" => TensorRef::from_array_view((shape, mask.as_slice())).map_err(infer)?,
                "token_type_ids" => TensorRef::from_array_view((shape, types.as_slice())).map_err(infer)?,
            })
            .map_err(infer)?;
        let (out_shape, hidden) = outputs[0].try_extract_tensor::<f32>().map_err(infer)?;
        if out_shape.len() != 3 || out_shape[2] as usize != DIM || out_shape[1] as usize != len {
            return Err(EmbedError::Inference(format!("unexpected output shape {out_shape:?}")));
        }
        Ok(seqs
            .iter()
            .enumerate()
            .map(|(b, seq)| {
                let rows = &hidden[b * len * DIM..(b * len + seq.len()) * DIM];
                let mut v = mean_rows(rows, seq.len());
                l2_normalize(&mut v);
                v
            })
            .collect())
    }

    /// A free session if there is one, else waits for the next in turn.
    fn session(&self) -> parking_lot::MutexGuard<'_, Session> {
        for s in &self.sessions {
            if let Some(guard) = s.try_lock() {
                return guard;
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.sessions.len();
        self.sessions[i].lock()
    }
}

/// The model id of an ONNX model file: [`ONNX_MODEL_ID_PREFIX`] and the first 12 hex digits of
/// the SHA-256 of its bytes (~0.1 s for the 23 MB model, once at start).
pub fn onnx_model_id(model: &[u8]) -> String {
    let digest = Sha256::digest(model);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{ONNX_MODEL_ID_PREFIX}{hex}")
}

fn open_session(env: &Environment, model: &Path, bytes: &[u8]) -> Result<Session, EmbedError> {
    let unavailable = |e: ort::Error| {
        EmbedError::ModelUnavailable(format!("cannot load ONNX model {}: {e}", model.display()))
    };
    Session::builder(env)
        .map_err(unavailable)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| unavailable(e.into()))?
        .with_intra_threads(1)
        .map_err(|e| unavailable(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| unavailable(e.into()))?
        .commit_from_memory(bytes)
        .map_err(unavailable)
}

/// Mean of `n` rows of [`DIM`] floats.
fn mean_rows(rows: &[f32], n: usize) -> Vec<f32> {
    let mut v = vec![0f32; DIM];
    for row in rows.chunks_exact(DIM) {
        v.iter_mut().zip(row).for_each(|(a, b)| *a += b);
    }
    let n = n.max(1) as f32;
    v.iter_mut().for_each(|a| *a /= n);
    v
}

impl Embedder for OnnxEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        DIM
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        crate::minilm::embed_sorted(&self.tokenizer, texts, |seqs| self.embed_batch(seqs))
    }
}

fn infer(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Inference(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_rows() {
        let mut rows = vec![1f32; DIM];
        rows.extend(vec![3f32; DIM]);
        assert!(mean_rows(&rows, 2).iter().all(|&x| (x - 2.0).abs() < 1e-6));
    }

    #[test]
    fn missing_runtime_is_a_clear_error() {
        let paths = OnnxPaths {
            model: "/nonexistent/model.onnx".into(),
            tokenizer_dir: "/nonexistent".into(),
            runtime: "/nonexistent/libonnxruntime.so".into(),
        };
        // The runtime may already be loaded by another test in this process; either way the
        // error names what is missing.
        let err = OnnxEmbedder::load(&paths, 1).expect_err("nothing exists");
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn model_id_follows_the_file_contents() {
        let a = onnx_model_id(b"model a");
        assert!(a.starts_with(ONNX_MODEL_ID_PREFIX) && a.len() == ONNX_MODEL_ID_PREFIX.len() + 12, "{a}");
        assert_eq!(a, onnx_model_id(b"model a"));
        assert_ne!(a, onnx_model_id(b"model b"));
    }

    #[test]
    fn embedder_is_shareable() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<OnnxEmbedder>();
    }
}
