//! The system-level side that serves the derived indexes and the embedding pipeline: the
//! embedding queue, stored vectors, the change log and full-snapshot scans. Only `vector_of` is
//! tenant-scoped; the rest are documented in [`crate::Store`] as cross-tenant.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use uuid::Uuid;

use super::codec::{self, micros, sql_limit, wall_now, LIVE, LIVE_ANY_TENANT, MEMORY_COLS, MEMORY_COL_COUNT};
use super::memories::log_change;
use crate::{
    Change, ChangeOp, EmbeddingWrite, Memory, PendingEmbedding, Result, StoreError, StoredVector, TenantId,
};

/// Rows handed to a scan callback at a time.
const SCAN_BATCH: usize = 1000;

pub(super) fn pending(c: &Connection, limit: usize) -> Result<Vec<PendingEmbedding>> {
    let mut stmt = c.prepare_cached(
        "SELECT q.tenant, q.memory_id, q.version, m.content
         FROM embed_queue q JOIN memories m ON m.id = q.memory_id
         WHERE m.deleted_at IS NULL ORDER BY q.qid LIMIT ?1",
    )?;
    let rows = stmt.query([sql_limit(limit)])?;
    codec::collect(rows, |r| {
        Ok(PendingEmbedding {
            tenant: codec::tenant_at(r, 0)?,
            memory_id: codec::uuid_at(r, 1)?,
            version: r.get(2)?,
            content: r.get(3)?,
        })
    })
}

pub(super) fn pending_count(c: &Connection) -> Result<u64> {
    let n: i64 = c.prepare_cached("SELECT count(*) FROM embed_queue")?.query_row([], |r| r.get(0))?;
    Ok(n as u64)
}

/// Stores one vector when its memory is live at exactly `item.version`; always dequeues it.
fn put_one(c: &Connection, model: &str, item: &EmbeddingWrite) -> Result<bool> {
    let id = item.memory_id.as_bytes();
    c.prepare_cached("DELETE FROM embed_queue WHERE memory_id = ?1 AND version = ?2")?
        .execute(params![id, item.version])?;
    let updated = c
        .prepare_cached(
            "UPDATE memories SET embedding_model = ?4
             WHERE id = ?1 AND tenant = ?2 AND version = ?3 AND deleted_at IS NULL",
        )?
        .execute(params![id, item.tenant.as_str(), item.version, model])?;
    if updated == 0 {
        return Ok(false);
    }
    c.prepare_cached(
        "INSERT OR REPLACE INTO embeddings (memory_id, tenant, model, dim, version, vector)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        item.tenant.as_str(),
        model,
        item.vector.len() as i64,
        item.version,
        codec::vector_bytes(&item.vector),
    ])?;
    log_change(c, item.tenant.as_str(), item.memory_id, ChangeOp::Embed)?;
    Ok(true)
}

pub(super) fn put(c: &Connection, model: &str, items: &[EmbeddingWrite]) -> Result<usize> {
    let mut stored = 0;
    for item in items {
        stored += usize::from(put_one(c, model, item)?);
    }
    Ok(stored)
}

pub(super) fn models(c: &Connection) -> Result<Vec<(String, u64)>> {
    let sql = format!(
        "SELECT e.model, count(*) FROM embeddings e JOIN memories m ON m.id = e.memory_id
         WHERE {LIVE_ANY_TENANT} GROUP BY e.model ORDER BY e.model"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query([wall_now()])?;
    codec::collect(rows, |r| {
        let n: i64 = r.get(1)?;
        Ok((r.get(0)?, n as u64))
    })
}

pub(super) fn requeue_for_model(c: &Connection, model: &str) -> Result<u64> {
    let sql = format!(
        "INSERT INTO embed_queue (memory_id, tenant, version, enqueued_at)
         SELECT m.id, m.tenant, m.version, ?1 FROM memories m
         WHERE {LIVE_ANY_TENANT} AND (m.embedding_model IS NULL OR m.embedding_model <> ?2)
         ORDER BY m.created_at
         ON CONFLICT (memory_id) DO UPDATE SET version = excluded.version"
    );
    let n = c.prepare_cached(&sql)?.execute(params![wall_now(), model])?;
    Ok(n as u64)
}

fn stored_vector(row: &rusqlite::Row<'_>) -> Result<StoredVector> {
    let memory = codec::memory(row)?;
    let bytes: Vec<u8> = row.get(MEMORY_COL_COUNT)?;
    Ok(StoredVector { memory, vector: codec::vector_from(&bytes)? })
}

pub(super) fn vector_of(
    c: &Connection,
    tenant: &TenantId,
    id: Uuid,
    model: &str,
    now: DateTime<Utc>,
) -> Result<Option<StoredVector>> {
    let sql = format!(
        "SELECT {MEMORY_COLS}, e.vector FROM memories m JOIN embeddings e ON e.memory_id = m.id
         WHERE {LIVE} AND m.id = ?3 AND e.model = ?4"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![tenant.as_str(), micros(now), id.as_bytes(), model])?;
    rows.next()?.map(stored_vector).transpose()
}

/// Streams the rows of `rows` to `f` in batches of [`SCAN_BATCH`].
fn stream<T>(
    mut rows: rusqlite::Rows<'_>,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
    f: &mut dyn FnMut(Vec<T>),
) -> Result<()> {
    let mut batch = Vec::with_capacity(SCAN_BATCH);
    while let Some(row) = rows.next()? {
        batch.push(decode(row)?);
        if batch.len() == SCAN_BATCH {
            f(std::mem::replace(&mut batch, Vec::with_capacity(SCAN_BATCH)));
        }
    }
    if !batch.is_empty() {
        f(batch);
    }
    Ok(())
}

/// Call inside one read transaction: reads the seq first, then streams.
pub(super) fn scan_vectors(c: &Connection, model: &str, f: &mut dyn FnMut(Vec<StoredVector>)) -> Result<i64> {
    let seq = max_seq(c)?;
    let sql = format!(
        "SELECT {MEMORY_COLS}, e.vector FROM memories m JOIN embeddings e ON e.memory_id = m.id
         WHERE {LIVE_ANY_TENANT} AND e.model = ?2"
    );
    let mut stmt = c.prepare(&sql)?;
    stream(stmt.query(params![wall_now(), model])?, stored_vector, f)?;
    Ok(seq)
}

/// Call inside one read transaction: reads the seq first, then streams.
pub(super) fn scan_memories(c: &Connection, f: &mut dyn FnMut(Vec<Memory>)) -> Result<i64> {
    let seq = max_seq(c)?;
    let sql = format!("SELECT {MEMORY_COLS} FROM memories m WHERE {LIVE_ANY_TENANT}");
    let mut stmt = c.prepare(&sql)?;
    stream(stmt.query([wall_now()])?, codec::memory, f)?;
    Ok(seq)
}

fn change(row: &rusqlite::Row<'_>) -> Result<Change> {
    let op: String = row.get(3)?;
    let op = match op.as_str() {
        "upsert" => ChangeOp::Upsert,
        "delete" => ChangeOp::Delete,
        "embed" => ChangeOp::Embed,
        other => return Err(StoreError::Corrupt(format!("change op {other:?}"))),
    };
    Ok(Change { seq: row.get(0)?, tenant: codec::tenant_at(row, 1)?, memory_id: codec::uuid_at(row, 2)?, op })
}

pub(super) fn changes_since(c: &Connection, after: i64, limit: usize) -> Result<Vec<Change>> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, tenant, memory_id, op FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query(params![after, sql_limit(limit)])?;
    codec::collect(rows, change)
}

/// The highest seq ever assigned, from `sqlite_sequence`, so it stays right after old change
/// rows are pruned.
pub(super) fn max_seq(c: &Connection) -> Result<i64> {
    let seq: i64 = c
        .prepare_cached("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)")?
        .query_row([], |r| r.get(0))?;
    Ok(seq)
}
