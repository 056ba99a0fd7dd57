//! Wire types of REST v1, with their OpenAPI schemas. Requests reject unknown fields; each maps
//! onto a service request type.

use chrono::{DateTime, Utc};
use memd_core::{AddMemory, FilterParams, SearchHit, SearchMode};
use memd_store::{HistoryEntry, Memory, TagMatch, TimeField};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;

type JsonMap = serde_json::Map<String, serde_json::Value>;

/// A stored memory.
#[derive(Serialize, ToSchema)]
pub struct MemoryView {
    pub id: Uuid,
    pub user_id: String,
    pub agent_id: Option<String>,
    pub app_id: Option<String>,
    pub session_id: Option<String>,
    pub content: String,
    pub content_hash: String,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub metadata: JsonMap,
    pub kind: String,
    pub cxd: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub version: i64,
    /// The model whose vector is stored; `null` until embedded (keyword search finds it already).
    pub embedding_model: Option<String>,
}

impl From<Memory> for MemoryView {
    fn from(m: Memory) -> Self {
        MemoryView {
            id: m.id,
            user_id: m.user_id,
            agent_id: m.agent_id,
            app_id: m.app_id,
            session_id: m.session_id,
            content: m.content,
            content_hash: m.content_hash,
            tags: m.tags,
            metadata: m.metadata,
            kind: m.kind,
            cxd: m.cxd,
            event_time: m.event_time,
            created_at: m.created_at,
            updated_at: m.updated_at,
            expires_at: m.expires_at,
            version: m.version,
            embedding_model: m.embedding_model,
        }
    }
}

/// A memory to store.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemoryBody {
    /// The text to remember (1 byte to `limits.max_content_bytes`, default 64 KiB).
    pub content: String,
    /// Owner; defaults to the key's bound user, or `default` in local mode.
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub app_id: Option<String>,
    pub session_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: JsonMap,
    /// When the remembered thing happened (RFC 3339).
    pub event_time: Option<DateTime<Utc>>,
    /// After this instant the memory is never returned.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<AddMemoryBody> for AddMemory {
    fn from(b: AddMemoryBody) -> Self {
        AddMemory {
            content: b.content,
            user_id: b.user_id,
            agent_id: b.agent_id,
            app_id: b.app_id,
            session_id: b.session_id,
            tags: b.tags,
            metadata: b.metadata,
            kind: None,
            event_time: b.event_time,
            expires_at: b.expires_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1 to `limits.max_batch` (default 100) memories, stored all or none.
    pub memories: Vec<AddMemoryBody>,
}

#[derive(Serialize, ToSchema)]
pub struct MemoriesView {
    pub memories: Vec<MemoryView>,
}

/// A partial update: absent fields stay; `null` clears `event_time` / `expires_at`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    pub content: Option<String>,
    pub tags: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<JsonMap>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub event_time: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Filters of `GET /v1/memories` and `DELETE /v1/memories`.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub session_id: Option<String>,
    /// Comma-separated tags.
    pub tags: Option<String>,
    /// `any` (default) or `all`.
    #[param(value_type = Option<String>)]
    pub tag_match: Option<TagMatch>,
    /// `event_time` (default; falls back to created_at) or `created_at`.
    #[param(value_type = Option<String>)]
    pub time_field: Option<TimeField>,
    /// Inclusive lower bound (RFC 3339).
    pub after: Option<DateTime<Utc>>,
    /// Exclusive upper bound (RFC 3339).
    pub before: Option<DateTime<Utc>>,
    /// A JSON object; memories whose metadata has equal values for each key.
    pub metadata: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<usize>,
}

impl ListParams {
    pub fn filter(&self) -> Result<FilterParams, ApiError> {
        let metadata = match &self.metadata {
            None => JsonMap::new(),
            Some(s) => serde_json::from_str::<JsonMap>(s).map_err(|e| {
                ApiError(memd_core::ServiceError::invalid(
                    "invalid_metadata_filter",
                    format!("metadata must be a JSON object: {e}"),
                ))
            })?,
        };
        Ok(FilterParams {
            user_id: self.user_id.clone(),
            agent_id: self.agent_id.clone(),
            session_id: self.session_id.clone(),
            tags: split_tags(self.tags.as_deref()),
            tag_match: self.tag_match.unwrap_or_default(),
            time_field: self.time_field.unwrap_or_default(),
            after: self.after,
            before: self.before,
            metadata,
        })
    }
}

pub fn split_tags(s: Option<&str>) -> Vec<String> {
    s.map(|s| s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct PageView {
    pub memories: Vec<MemoryView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeletedView {
    pub deleted: u64,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    pub id: i64,
    pub memory_id: Uuid,
    /// `ADD`, `UPDATE` or `DELETE`.
    pub event: String,
    pub old_content: Option<String>,
    pub new_content: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<HistoryEntry> for HistoryView {
    fn from(h: HistoryEntry) -> Self {
        HistoryView {
            id: h.id,
            memory_id: h.memory_id,
            event: h.event.as_str().to_owned(),
            old_content: h.old_content,
            new_content: h.new_content,
            created_at: h.created_at,
        }
    }
}

/// A search.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    pub query: String,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub session_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[schema(value_type = Option<String>)]
    pub tag_match: Option<TagMatch>,
    #[schema(value_type = Option<String>)]
    pub time_field: Option<TimeField>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: JsonMap,
    /// 1..=max_top_k (default 10).
    pub top_k: Option<usize>,
    /// `hybrid` (default), `semantic` or `keyword`.
    #[schema(value_type = Option<String>)]
    pub mode: Option<SearchMode>,
    /// `rrf` or `weighted`; defaults to the server's setting.
    #[schema(value_type = Option<String>)]
    pub fusion: Option<memd_core::fusion::FusionMethod>,
}

impl SearchBody {
    pub fn into_request(self) -> memd_core::SearchRequest {
        memd_core::SearchRequest {
            query: self.query,
            filter: FilterParams {
                user_id: self.user_id,
                agent_id: self.agent_id,
                session_id: self.session_id,
                tags: self.tags,
                tag_match: self.tag_match.unwrap_or_default(),
                time_field: self.time_field.unwrap_or_default(),
                after: self.after,
                before: self.before,
                metadata: self.metadata,
            },
            top_k: self.top_k,
            mode: self.mode.unwrap_or_default(),
            fusion: self.fusion,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScoresView {
    /// BM25 score when the keyword index matched.
    pub keyword: Option<f32>,
    /// Cosine similarity when the vector index matched.
    pub semantic: Option<f32>,
    pub fused: f32,
}

#[derive(Serialize, ToSchema)]
pub struct HitView {
    pub memory: MemoryView,
    pub score: f32,
    pub scores: ScoresView,
}

impl From<SearchHit> for HitView {
    fn from(h: SearchHit) -> Self {
        HitView {
            memory: h.memory.into(),
            score: h.score,
            scores: ScoresView {
                keyword: h.scores.keyword,
                semantic: h.scores.semantic,
                fused: h.scores.fused,
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SearchView {
    pub results: Vec<HitView>,
    /// True when semantic search was wanted but unavailable (answer is keyword-only).
    pub degraded: bool,
    /// The mode actually used.
    pub mode: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PromoteParams {
    pub user_id: Option<String>,
    /// What the agent is about to do; ranks memories by relevance to it.
    pub goal: Option<String>,
    /// Comma-separated tags.
    pub tags: Option<String>,
    /// How many memories (default 10).
    pub k: Option<usize>,
    /// Widen tags with co-occurring tags (default true).
    pub neighbours: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct PromoteView {
    pub memories: Vec<HitView>,
    /// Tags used, requested first then neighbours.
    pub tags: Vec<String>,
    pub expanded: bool,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TagsParams {
    pub user_id: Option<String>,
    /// Most used tags to return (default 100, at most 1000).
    pub limit: Option<usize>,
    /// Co-occurring tags per tag (default 5, 0 to skip).
    pub neighbours: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct TagCountView {
    pub tag: String,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct TagView {
    pub tag: String,
    pub count: u64,
    pub neighbours: Vec<TagCountView>,
}

#[derive(Serialize, ToSchema)]
pub struct TagsView {
    pub tags: Vec<TagView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    /// Any of `read`, `write`, `admin`.
    pub scopes: Vec<String>,
    /// Bind the key to one user.
    pub user_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub id: Uuid,
    pub tenant: String,
    pub scopes: Vec<String>,
    pub user_id: Option<String>,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<memd_store::ApiKey> for KeyView {
    fn from(k: memd_store::ApiKey) -> Self {
        KeyView {
            id: k.id,
            tenant: k.tenant.to_string(),
            scopes: k.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            user_id: k.user_id,
            prefix: k.prefix,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKeyView {
    pub id: Uuid,
    /// The secret; shown only in this response.
    pub key: String,
    pub tenant: String,
    pub scopes: Vec<String>,
    pub user_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct KeysView {
    pub keys: Vec<KeyView>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeysParams {
    pub tenant: Option<String>,
}
