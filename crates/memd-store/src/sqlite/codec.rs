//! Conversions between the data model and SQLite values, and the SQL fragments that make tenant
//! scoping structural: every tenant-scoped statement starts its WHERE clause with [`LIVE`] or
//! [`TENANT`] and binds the tenant as `?1`.

use base64::Engine;
use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::Row;
use uuid::Uuid;

use crate::{Memory, Result, StoreError, TenantId};

/// Rows of memory alias `m` in tenant `?1`, whatever their state (history, tombstoning).
pub(super) const TENANT: &str = "m.tenant = ?1";

/// Live rows of memory alias `m` in tenant `?1` at time `?2`: not tombstoned, not expired.
pub(super) const LIVE: &str =
    "m.tenant = ?1 AND m.deleted_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > ?2)";

/// Live rows of `m` at time `?1` in any tenant — only for the documented system-level reads.
pub(super) const LIVE_ANY_TENANT: &str =
    "m.deleted_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > ?1)";

/// The columns [`memory`] decodes, in order, for alias `m`.
pub(super) const MEMORY_COLS: &str = "m.id, m.tenant, m.user_id, m.agent_id, m.app_id, \
    m.session_id, m.content, m.content_hash, m.tags, m.metadata, m.kind, m.cxd, m.event_time, \
    m.created_at, m.updated_at, m.expires_at, m.version, m.embedding_model";

/// How many columns [`MEMORY_COLS`] has; a query's extra columns start at this index.
pub(super) const MEMORY_COL_COUNT: usize = 18;

/// Unix microseconds: the precision every backend keeps (PostgreSQL's `timestamptz`).
pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// `t` truncated to what the store keeps, so returned values equal what a later read returns.
pub(super) fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

pub(super) fn time(v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp out of range: {v}")))
}

pub(super) fn opt_time(v: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    v.map(time).transpose()
}

/// Wall-clock now in microseconds, for the system-level reads that take no `now`.
pub(super) fn wall_now() -> i64 {
    micros(Utc::now())
}

pub(super) fn uuid_at(row: &Row<'_>, idx: usize) -> Result<Uuid> {
    match row.get_ref(idx)? {
        ValueRef::Blob(b) => Uuid::from_slice(b).map_err(|e| StoreError::Corrupt(format!("bad uuid: {e}"))),
        other => Err(StoreError::Corrupt(format!("uuid stored as {:?}", other.data_type()))),
    }
}

pub(super) fn tenant_at(row: &Row<'_>, idx: usize) -> Result<TenantId> {
    let s: String = row.get(idx)?;
    TenantId::new(s).map_err(|e| StoreError::Corrupt(format!("bad stored tenant: {e}")))
}

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("unserialisable JSON: {e}")))
}

/// Decodes the [`MEMORY_COLS`] of `row`.
pub(super) fn memory(row: &Row<'_>) -> Result<Memory> {
    let tags: String = row.get(8)?;
    let metadata: String = row.get(9)?;
    Ok(Memory {
        id: uuid_at(row, 0)?,
        tenant: tenant_at(row, 1)?,
        user_id: row.get(2)?,
        agent_id: row.get(3)?,
        app_id: row.get(4)?,
        session_id: row.get(5)?,
        content: row.get(6)?,
        content_hash: row.get(7)?,
        tags: json("tags", &tags)?,
        metadata: json("metadata", &metadata)?,
        kind: row.get(10)?,
        cxd: row.get(11)?,
        event_time: opt_time(row.get(12)?)?,
        created_at: time(row.get(13)?)?,
        updated_at: time(row.get(14)?)?,
        expires_at: opt_time(row.get(15)?)?,
        version: row.get(16)?,
        embedding_model: row.get(17)?,
    })
}

/// Runs a prepared query and decodes every row with `f`.
pub(super) fn collect<T>(
    mut rows: rusqlite::Rows<'_>,
    mut f: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}

/// Little-endian f32s.
pub(super) fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(super) fn vector_from(bytes: &[u8]) -> Result<Vec<f32>> {
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return Err(StoreError::Corrupt(format!("vector blob of {} bytes", bytes.len())));
    }
    Ok(chunks.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// The opaque list cursor: URL-safe base64 of big-endian `created_at` micros and the 16 id bytes.
pub(super) fn encode_cursor(created_at: i64, id: Uuid) -> String {
    let mut buf = Vec::with_capacity(24);
    buf.extend_from_slice(&created_at.to_be_bytes());
    buf.extend_from_slice(id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

pub(super) fn decode_cursor(s: &str) -> Result<(i64, Uuid)> {
    let invalid = || StoreError::Invalid("invalid cursor".into());
    let buf = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
    if buf.len() != 24 {
        return Err(invalid());
    }
    let (t, id) = buf.split_at(8);
    let t = i64::from_be_bytes(t.try_into().map_err(|_| invalid())?);
    Ok((t, Uuid::from_slice(id).map_err(|_| invalid())?))
}

/// A `usize` limit as an SQL integer (saturating).
pub(super) fn sql_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
