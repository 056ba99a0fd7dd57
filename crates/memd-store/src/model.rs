//! The data model shared by every layer: tenants, memories, history, the change log and API keys.
//!
//! Validation of *shape* (identifier syntax) lives here because a value of these types is proof
//! that it was checked; validation of *request limits* (content size, tag counts) is the service's.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::StoreError;

/// A tenant identifier. Constructing one validates it, so a `&TenantId` in a signature means
/// "this query is scoped to exactly this tenant".
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// The tenant used in single-user local mode.
    pub const DEFAULT: &'static str = "default";

    /// Validates `s`: 1–64 characters from `[A-Za-z0-9_.-]`.
    pub fn new(s: impl Into<String>) -> Result<Self, StoreError> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if ok {
            Ok(Self(s))
        } else {
            Err(StoreError::Invalid(format!(
                "tenant id must be 1-64 characters of [A-Za-z0-9_.-], got {s:?}"
            )))
        }
    }

    pub fn default_tenant() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One stored memory, as every layer sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub id: Uuid,
    pub tenant: TenantId,
    pub user_id: String,
    pub agent_id: Option<String>,
    pub app_id: Option<String>,
    pub session_id: Option<String>,
    pub content: String,
    /// Hex SHA-256 of `content`.
    pub content_hash: String,
    pub tags: Vec<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// `memory`, `reflection`, …
    pub kind: String,
    /// `control`, `context` or `data` when classified.
    pub cxd: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Starts at 1; every update increments it.
    pub version: i64,
    /// The model whose vector is stored for the current content, if it has been embedded.
    pub embedding_model: Option<String>,
}

impl Memory {
    /// A memory of `tenant`'s `user` holding `content` as a fresh write would create it (new
    /// v7 id, version 1, created now, no optional field set), without a store: for indexes,
    /// tests, examples and benchmarks that need memories to index. Set other fields after.
    pub fn sample(tenant: TenantId, user: impl Into<String>, content: impl Into<String>) -> Memory {
        let now = Utc::now();
        Memory {
            id: Uuid::now_v7(),
            tenant,
            user_id: user.into(),
            agent_id: None,
            app_id: None,
            session_id: None,
            content: content.into(),
            content_hash: String::new(),
            tags: Vec::new(),
            metadata: Default::default(),
            kind: "memory".into(),
            cxd: None,
            event_time: None,
            created_at: now,
            updated_at: now,
            expires_at: None,
            version: 1,
            embedding_model: None,
        }
    }
}

/// Where a memory sits in its user's sequence of memories: what search needs to tell whether two
/// memories stored one after the other belong to the same conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub id: Uuid,
    pub session_id: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A live memory with the live memories of the same user stored just before and just after it
/// (by `created_at`, then id: insertion order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjacent {
    pub memory: Placement,
    pub before: Option<Placement>,
    pub after: Option<Placement>,
}

impl Memory {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// What a caller supplies to create a memory; ids, hashes and times are assigned by the store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewMemory {
    pub user_id: String,
    pub agent_id: Option<String>,
    pub app_id: Option<String>,
    pub session_id: Option<String>,
    pub content: String,
    pub tags: Vec<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Defaults to `memory` when empty.
    pub kind: String,
    pub cxd: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A partial update. `None` leaves a field as it is; for the optional fields `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryPatch {
    pub content: Option<String>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub event_time: Option<Option<DateTime<Utc>>>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

impl MemoryPatch {
    pub fn is_empty(&self) -> bool {
        self.content.is_none()
            && self.tags.is_none()
            && self.metadata.is_none()
            && self.event_time.is_none()
            && self.expires_at.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HistoryEvent {
    Add,
    Update,
    Delete,
}

impl HistoryEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryEvent::Add => "ADD",
            HistoryEvent::Update => "UPDATE",
            HistoryEvent::Delete => "DELETE",
        }
    }
}

/// One change to a memory, oldest first in [`crate::Store::history`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub memory_id: Uuid,
    pub event: HistoryEvent,
    pub old_content: Option<String>,
    pub new_content: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagMatch {
    /// A memory matches when it has at least one of the tags.
    #[default]
    Any,
    /// A memory matches when it has every one of the tags.
    All,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeField {
    /// `event_time`, falling back to `created_at` when a memory has none.
    #[default]
    EventTime,
    CreatedAt,
}

/// Structural filters understood by the store and by both indexes. Tenant is never part of a
/// filter: it is a separate, mandatory argument everywhere.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub session_id: Option<String>,
    pub tags: Vec<String>,
    pub tag_match: TagMatch,
    pub time_field: TimeField,
    /// Inclusive lower bound.
    pub after: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub before: Option<DateTime<Utc>>,
    /// Equality on top-level metadata keys.
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl Filter {
    /// The time a memory is filtered and recency-weighted by under `time_field`.
    pub fn time_of(&self, m: &Memory) -> DateTime<Utc> {
        match self.time_field {
            TimeField::EventTime => m.event_time.unwrap_or(m.created_at),
            TimeField::CreatedAt => m.created_at,
        }
    }

    /// True when `m` passes every part of this filter. Backends may evaluate filters natively;
    /// this is the reference semantics they must agree with.
    pub fn matches(&self, m: &Memory) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_deref() == Some(w))
        };
        if self.user_id.as_ref().is_some_and(|u| *u != m.user_id)
            || !eq(&self.agent_id, &m.agent_id)
            || !eq(&self.session_id, &m.session_id)
        {
            return false;
        }
        if !self.tags.is_empty() {
            let has = |t: &String| m.tags.contains(t);
            let ok = match self.tag_match {
                TagMatch::Any => self.tags.iter().any(has),
                TagMatch::All => self.tags.iter().all(has),
            };
            if !ok {
                return false;
            }
        }
        let t = self.time_of(m);
        if self.after.is_some_and(|a| t < a) || self.before.is_some_and(|b| t >= b) {
            return false;
        }
        self.metadata.iter().all(|(k, v)| m.metadata.get(k) == Some(v))
    }
}

/// A scope for bulk deletion. It cannot be built empty, so "delete everything" is not expressible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteScope {
    user_id: Option<String>,
    agent_id: Option<String>,
    session_id: Option<String>,
}

impl DeleteScope {
    /// Fails when all three are `None`.
    pub fn new(
        user_id: Option<String>,
        agent_id: Option<String>,
        session_id: Option<String>,
    ) -> Result<Self, StoreError> {
        if user_id.is_none() && agent_id.is_none() && session_id.is_none() {
            return Err(StoreError::Invalid(
                "a bulk delete needs at least one of user_id, agent_id, session_id".into(),
            ));
        }
        Ok(Self { user_id, agent_id, session_id })
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }
    pub fn agent_id(&self) -> Option<&str> {
        self.agent_id.as_deref()
    }
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
}

/// Listing parameters: newest first, keyset pagination over `(created_at, id)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListQuery {
    pub filter: Filter,
    /// Opaque cursor returned as `next_cursor` by the previous page.
    pub cursor: Option<String>,
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    /// Created or content/tags/metadata changed.
    Upsert,
    /// Tombstoned or purged.
    Delete,
    /// A new embedding was stored.
    Embed,
}

/// One change-log row. Derived indexes follow these by `seq` and then read the memory's current
/// state, so applying a change twice is harmless.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub seq: i64,
    pub tenant: TenantId,
    pub memory_id: Uuid,
    pub op: ChangeOp,
}

/// A memory waiting in the durable embedding queue.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingEmbedding {
    pub tenant: TenantId,
    pub memory_id: Uuid,
    /// The memory version the text belongs to; a stale result is discarded on write.
    pub version: i64,
    pub content: String,
}

/// A computed vector for a memory version.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddingWrite {
    pub tenant: TenantId,
    pub memory_id: Uuid,
    pub version: i64,
    pub vector: Vec<f32>,
}

/// A memory's current vector, as loaded into the vector index.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredVector {
    pub memory: Memory,
    pub vector: Vec<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            other => {
                Err(StoreError::Invalid(format!("unknown scope {other:?}; expected read, write or admin")))
            }
        }
    }
}

/// An API key as stored: only the SHA-256 of the secret is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant: TenantId,
    pub scopes: Vec<Scope>,
    pub user_id: Option<String>,
    /// The first characters of the key, to tell keys apart in listings.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A tag with its number of (live, unexpired) memories.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: String,
    pub count: u64,
}
