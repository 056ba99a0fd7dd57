//! An embedder that calls an OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Ollama,
//! vLLM, LiteLLM, TEI, ...).
//!
//! Owns the request (`{"model", "input": [...]}` with an optional bearer key), the response
//! parsing (`data[].embedding`, reordered by `index`), normalisation, the dimension check (set
//! or learned from the first answer) and turning every failure into [`EmbedError::Provider`]
//! with a message that never contains the API key.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Deserialize;

use crate::{l2_normalize, EmbedError, Embedder};

/// Inputs per request (OpenAI accepts up to 2048; smaller requests fail and retry cheaper).
pub const MAX_INPUTS_PER_REQUEST: usize = 256;
/// Largest response body read (bytes).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
/// How much of an error body is quoted in an error message (characters).
const ERROR_SNIPPET_CHARS: usize = 300;

/// An OpenAI-compatible HTTP embedder (blocking; run it off the async runtime).
pub struct OpenAiEmbedder {
    agent: ureq::Agent,
    url: String,
    model: String,
    model_id: String,
    api_key: Option<String>,
    /// 0 until known (configured, probed by [`OpenAiEmbedder::connect`], or learned).
    dim: AtomicUsize,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("dim", &self.dim.load(Ordering::Relaxed))
            .finish()
    }
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    index: usize,
    embedding: Vec<f32>,
}

impl OpenAiEmbedder {
    /// Builds the embedder without contacting the provider. `base_url` may or may not end with
    /// `/v1`. If `dim` is `None`, [`Embedder::dim`] is 0 until the first answer; prefer
    /// [`OpenAiEmbedder::connect`], which probes once.
    pub fn new(
        base_url: &str,
        model: &str,
        api_key: Option<String>,
        dim: Option<usize>,
        timeout: Duration,
    ) -> Result<Self, EmbedError> {
        let url = embeddings_url(base_url)?;
        if model.trim().is_empty() {
            return Err(EmbedError::Invalid("embedding model name is empty".into()));
        }
        let config =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build();
        Ok(Self {
            agent: ureq::Agent::new_with_config(config),
            url,
            model: model.to_string(),
            model_id: format!("openai:{model}"),
            api_key: api_key.filter(|k| !k.is_empty()),
            dim: AtomicUsize::new(dim.unwrap_or(0)),
        })
    }

    /// [`OpenAiEmbedder::new`], then one probe request: checks the provider answers and learns
    /// (or checks) the dimension, so [`Embedder::dim`] is right from the start.
    pub fn connect(
        base_url: &str,
        model: &str,
        api_key: Option<String>,
        dim: Option<usize>,
        timeout: Duration,
    ) -> Result<Self, EmbedError> {
        let embedder = Self::new(base_url, model, api_key, dim, timeout)?;
        embedder.embed(&["memd dimension probe"])?;
        Ok(embedder)
    }

    /// The full embeddings URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = serde_json::json!({ "model": self.model, "input": texts });
        let mut req = self.agent.post(&self.url).header("Accept", "application/json");
        if let Some(key) = &self.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let mut resp = req.send_json(&body).map_err(|e| self.provider(format!("request failed: {e}")))?;
        let status = resp.status();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| self.provider(format!("reading the response failed: {e}")))?;
        if !status.is_success() {
            return Err(self.provider(format!("HTTP {}: {}", status.as_u16(), snippet(&text))));
        }
        let parsed: EmbeddingsResponse = serde_json::from_str(&text)
            .map_err(|e| self.provider(format!("malformed response ({e}): {}", snippet(&text))))?;
        self.order_and_check(parsed, texts.len())
    }

    /// Puts vectors in input order, checks count and dimension, normalises.
    fn order_and_check(
        &self,
        parsed: EmbeddingsResponse,
        expected: usize,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        if parsed.data.len() != expected {
            return Err(self.provider(format!("asked for {expected} embeddings, got {}", parsed.data.len())));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; expected];
        for item in parsed.data {
            self.check_dim(item.embedding.len())?;
            match out.get_mut(item.index) {
                Some(slot @ None) => *slot = Some(item.embedding),
                _ => return Err(self.provider(format!("bad or repeated index {}", item.index))),
            }
        }
        let mut vectors: Vec<Vec<f32>> = out.into_iter().flatten().collect();
        vectors.iter_mut().for_each(|v| l2_normalize(v));
        Ok(vectors)
    }

    /// Accepts `n` if it matches the known dimension; learns it if none is known yet.
    fn check_dim(&self, n: usize) -> Result<(), EmbedError> {
        if n == 0 {
            return Err(self.provider("empty embedding".into()));
        }
        match self.dim.compare_exchange(0, n, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Ok(()),
            Err(known) if known == n => Ok(()),
            Err(known) => Err(self.provider(format!("embedding has {n} dimensions, expected {known}"))),
        }
    }

    /// A provider error naming the model and URL, with the API key scrubbed just in case the
    /// provider echoed it back.
    fn provider(&self, msg: String) -> EmbedError {
        let mut msg = format!("{} at {}: {msg}", self.model, self.url);
        if let Some(key) = self.api_key.as_deref().filter(|k| k.len() >= 4) {
            msg = msg.replace(key, "***");
        }
        EmbedError::Provider(msg)
    }
}

impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        self.dim.load(Ordering::Acquire)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(MAX_INPUTS_PER_REQUEST) {
            out.extend(self.request(chunk)?);
        }
        Ok(out)
    }
}

/// `{base}/v1/embeddings`, without doubling a `/v1` the base already ends with.
pub fn embeddings_url(base_url: &str) -> Result<String, EmbedError> {
    let base = base_url.trim().trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(EmbedError::Invalid(format!(
            "embedding provider URL must start with http:// or https://, got {base:?}"
        )));
    }
    if base.ends_with("/v1") {
        Ok(format!("{base}/embeddings"))
    } else {
        Ok(format!("{base}/v1/embeddings"))
    }
}

fn snippet(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(ERROR_SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joins_v1_once() {
        let url = |b| embeddings_url(b).expect("valid url");
        assert_eq!(url("http://h:1"), "http://h:1/v1/embeddings");
        assert_eq!(url("http://h:1/"), "http://h:1/v1/embeddings");
        assert_eq!(url("https://api.openai.com/v1"), "https://api.openai.com/v1/embeddings");
        assert_eq!(url("http://h/proxy/v1/"), "http://h/proxy/v1/embeddings");
        assert!(embeddings_url("api.openai.com").is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let e = OpenAiEmbedder::new("http://h", "m", Some("sk-secret".into()), None, Duration::from_secs(1))
            .expect("new");
        assert!(!format!("{e:?}").contains("sk-secret"));
        assert_eq!(e.model_id(), "openai:m");
        assert_eq!(e.dim(), 0);
    }

    #[test]
    fn snippet_cuts_on_char_boundary() {
        let long = "é".repeat(1000);
        assert_eq!(snippet(&long).chars().count(), ERROR_SNIPPET_CHARS + 1);
    }
}
