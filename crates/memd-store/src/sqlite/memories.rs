//! The memory write path (insert, update, tombstone — each with its history, change-log and
//! queue rows) and the tenant-scoped point reads.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use uuid::Uuid;

use super::codec::{self, micros, truncate, LIVE, LIVE_ANY_TENANT, MEMORY_COLS, TENANT};
use crate::keys::content_hash;
use crate::{
    validate, ChangeOp, DeleteScope, HistoryEntry, HistoryEvent, Memory, MemoryPatch, NewMemory, Result,
    StoreError, TenantId,
};

pub(super) fn op_str(op: ChangeOp) -> &'static str {
    match op {
        ChangeOp::Upsert => "upsert",
        ChangeOp::Delete => "delete",
        ChangeOp::Embed => "embed",
    }
}

/// Appends one change-log row.
pub(super) fn log_change(c: &Connection, tenant: &str, id: Uuid, op: ChangeOp) -> Result<()> {
    c.prepare_cached("INSERT INTO changes (tenant, memory_id, op) VALUES (?1, ?2, ?3)")?.execute(params![
        tenant,
        id.as_bytes(),
        op_str(op)
    ])?;
    Ok(())
}

fn log_history(
    c: &Connection,
    m: &Memory,
    event: HistoryEvent,
    old: Option<&str>,
    new: Option<&str>,
    at: i64,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO history (tenant, memory_id, event, old_content, new_content, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![m.tenant.as_str(), m.id.as_bytes(), event.as_str(), old, new, at])?;
    Ok(())
}

/// Puts a memory (back) at the end of the embedding queue for `version`.
pub(super) fn enqueue(c: &Connection, m: &Memory, at: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT OR REPLACE INTO embed_queue (memory_id, tenant, version, enqueued_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![m.id.as_bytes(), m.tenant.as_str(), m.version, at])?;
    Ok(())
}

/// Replaces the tag rows of `m` with its current tags (none when `m` is not live).
fn write_tags(c: &Connection, m: &Memory, live: bool) -> Result<()> {
    c.prepare_cached("DELETE FROM memory_tags WHERE memory_id = ?1")?.execute([m.id.as_bytes()])?;
    if !live {
        return Ok(());
    }
    let mut stmt = c.prepare_cached(
        "INSERT OR IGNORE INTO memory_tags (memory_id, tag, tenant, user_id, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for tag in &m.tags {
        let exp = m.expires_at.map(micros);
        stmt.execute(params![m.id.as_bytes(), tag, m.tenant.as_str(), m.user_id, exp])?;
    }
    Ok(())
}

fn new_memory(tenant: &TenantId, n: NewMemory, now: DateTime<Utc>) -> Memory {
    let now = truncate(now);
    Memory {
        id: Uuid::now_v7(),
        tenant: tenant.clone(),
        content_hash: content_hash(&n.content),
        user_id: n.user_id,
        agent_id: n.agent_id,
        app_id: n.app_id,
        session_id: n.session_id,
        content: n.content,
        tags: n.tags,
        metadata: n.metadata,
        kind: if n.kind.is_empty() { "memory".into() } else { n.kind },
        cxd: n.cxd,
        event_time: n.event_time.map(truncate),
        created_at: now,
        updated_at: now,
        expires_at: n.expires_at.map(truncate),
        version: 1,
        embedding_model: None,
    }
}

fn insert_row(c: &Connection, m: &Memory) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO memories (id, tenant, user_id, agent_id, app_id, session_id, content,
            content_hash, tags, metadata, kind, cxd, event_time, created_at, updated_at,
            expires_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        m.id.as_bytes(),
        m.tenant.as_str(),
        m.user_id,
        m.agent_id,
        m.app_id,
        m.session_id,
        m.content,
        m.content_hash,
        codec::to_json(&m.tags)?,
        codec::to_json(&m.metadata)?,
        m.kind,
        m.cxd,
        m.event_time.map(micros),
        micros(m.created_at),
        micros(m.updated_at),
        m.expires_at.map(micros),
        m.version,
    ])?;
    Ok(())
}

pub(super) fn insert(
    c: &Connection,
    tenant: &TenantId,
    items: Vec<NewMemory>,
    now: DateTime<Utc>,
) -> Result<Vec<Memory>> {
    items.iter().try_for_each(validate::new_memory)?;
    let mut out = Vec::with_capacity(items.len());
    for n in items {
        let m = new_memory(tenant, n, now);
        let at = micros(m.created_at);
        insert_row(c, &m)?;
        write_tags(c, &m, true)?;
        log_history(c, &m, HistoryEvent::Add, None, Some(&m.content), at)?;
        log_change(c, tenant.as_str(), m.id, ChangeOp::Upsert)?;
        enqueue(c, &m, at)?;
        out.push(m);
    }
    Ok(out)
}

pub(super) fn get(c: &Connection, tenant: &TenantId, id: Uuid, now: DateTime<Utc>) -> Result<Option<Memory>> {
    let sql = format!("SELECT {MEMORY_COLS} FROM memories m WHERE {LIVE} AND m.id = ?3");
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![tenant.as_str(), micros(now), id.as_bytes()])?;
    rows.next()?.map(codec::memory).transpose()
}

pub(super) fn get_many(
    c: &Connection,
    tenant: &TenantId,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Memory>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get(c, tenant, *id, now)?);
    }
    Ok(out)
}

fn apply(mut m: Memory, p: MemoryPatch, now: DateTime<Utc>) -> Memory {
    if let Some(content) = p.content {
        m.content_hash = content_hash(&content);
        m.content = content;
    }
    if let Some(tags) = p.tags {
        m.tags = tags;
    }
    if let Some(metadata) = p.metadata {
        m.metadata = metadata;
    }
    if let Some(t) = p.event_time {
        m.event_time = t.map(truncate);
    }
    if let Some(t) = p.expires_at {
        m.expires_at = t.map(truncate);
    }
    m.updated_at = truncate(now);
    m.version += 1;
    m
}

fn update_row(c: &Connection, m: &Memory) -> Result<()> {
    c.prepare_cached(
        "UPDATE memories SET content = ?3, content_hash = ?4, tags = ?5, metadata = ?6,
            event_time = ?7, expires_at = ?8, updated_at = ?9, version = ?10,
            embedding_model = ?11
         WHERE tenant = ?1 AND id = ?2",
    )?
    .execute(params![
        m.tenant.as_str(),
        m.id.as_bytes(),
        m.content,
        m.content_hash,
        codec::to_json(&m.tags)?,
        codec::to_json(&m.metadata)?,
        m.event_time.map(micros),
        m.expires_at.map(micros),
        micros(m.updated_at),
        m.version,
        m.embedding_model,
    ])?;
    Ok(())
}

pub(super) fn update(
    c: &Connection,
    tenant: &TenantId,
    id: Uuid,
    patch: MemoryPatch,
    now: DateTime<Utc>,
) -> Result<Memory> {
    validate::patch(&patch)?;
    let old = get(c, tenant, id, now)?.ok_or(StoreError::NotFound)?;
    let mut m = apply(old.clone(), patch, now);
    let content_changed = m.content_hash != old.content_hash;
    if content_changed {
        // The stored vector is of the old content: it must never be served again.
        m.embedding_model = None;
        c.prepare_cached("DELETE FROM embeddings WHERE memory_id = ?1")?.execute([id.as_bytes()])?;
    }
    update_row(c, &m)?;
    if m.tags != old.tags || m.expires_at != old.expires_at {
        write_tags(c, &m, true)?;
    }
    let at = micros(m.updated_at);
    log_history(c, &m, HistoryEvent::Update, Some(&old.content), Some(&m.content), at)?;
    log_change(c, tenant.as_str(), id, ChangeOp::Upsert)?;
    if content_changed {
        enqueue(c, &m, at)?;
    } else {
        // Same text: a queued embedding of it is still wanted, now for the new version.
        c.prepare_cached("UPDATE embed_queue SET version = ?2 WHERE memory_id = ?1")?
            .execute(params![id.as_bytes(), m.version])?;
    }
    Ok(m)
}

/// Tombstones a live memory: history, change log, and drops its tags, queue row and vector.
fn tombstone(c: &Connection, m: &Memory, now: DateTime<Utc>) -> Result<()> {
    let at = micros(now);
    c.prepare_cached(
        "UPDATE memories SET deleted_at = ?3, updated_at = ?3, embedding_model = NULL
         WHERE tenant = ?1 AND id = ?2",
    )?
    .execute(params![m.tenant.as_str(), m.id.as_bytes(), at])?;
    write_tags(c, m, false)?;
    c.prepare_cached("DELETE FROM embed_queue WHERE memory_id = ?1")?.execute([m.id.as_bytes()])?;
    c.prepare_cached("DELETE FROM embeddings WHERE memory_id = ?1")?.execute([m.id.as_bytes()])?;
    log_history(c, m, HistoryEvent::Delete, Some(&m.content), None, at)?;
    log_change(c, m.tenant.as_str(), m.id, ChangeOp::Delete)
}

pub(super) fn delete(c: &Connection, tenant: &TenantId, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    let m = get(c, tenant, id, now)?.ok_or(StoreError::NotFound)?;
    tombstone(c, &m, now)
}

pub(super) fn delete_scoped(
    c: &Connection,
    tenant: &TenantId,
    scope: &DeleteScope,
    now: DateTime<Utc>,
) -> Result<u64> {
    let sql = format!(
        "SELECT {MEMORY_COLS} FROM memories m WHERE {LIVE}
           AND (?3 IS NULL OR m.user_id = ?3)
           AND (?4 IS NULL OR m.agent_id = ?4)
           AND (?5 IS NULL OR m.session_id = ?5)"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query(params![
        tenant.as_str(),
        micros(now),
        scope.user_id(),
        scope.agent_id(),
        scope.session_id()
    ])?;
    let doomed = codec::collect(rows, codec::memory)?;
    for m in &doomed {
        tombstone(c, m, now)?;
    }
    Ok(doomed.len() as u64)
}

fn history_entry(row: &rusqlite::Row<'_>) -> Result<HistoryEntry> {
    let event: String = row.get(2)?;
    let event = match event.as_str() {
        "ADD" => HistoryEvent::Add,
        "UPDATE" => HistoryEvent::Update,
        "DELETE" => HistoryEvent::Delete,
        other => return Err(StoreError::Corrupt(format!("history event {other:?}"))),
    };
    Ok(HistoryEntry {
        id: row.get(0)?,
        memory_id: codec::uuid_at(row, 1)?,
        event,
        old_content: row.get(3)?,
        new_content: row.get(4)?,
        created_at: codec::time(row.get(5)?)?,
    })
}

pub(super) fn history(c: &Connection, tenant: &TenantId, id: Uuid) -> Result<Vec<HistoryEntry>> {
    let sql = format!(
        "SELECT m.id, m.memory_id, m.event, m.old_content, m.new_content, m.created_at
         FROM history m WHERE {TENANT} AND m.memory_id = ?2 ORDER BY m.id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query(params![tenant.as_str(), id.as_bytes()])?;
    let out = codec::collect(rows, history_entry)?;
    if out.is_empty() {
        return Err(StoreError::NotFound);
    }
    Ok(out)
}

/// Live memories per tenant at wall-clock now, by tenant name (a scan of the partial
/// `memories_tenant_expires` index, which covers the query).
pub(super) fn count_by_tenant(c: &Connection) -> Result<Vec<(String, u64)>> {
    let sql = format!("SELECT m.tenant, count(*) FROM memories m WHERE {LIVE_ANY_TENANT} GROUP BY m.tenant");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query(params![codec::wall_now()])?;
    codec::collect(rows, |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
}

/// Live memories of the tenant at wall-clock now (the trait passes no `now`).
pub(super) fn count(c: &Connection, tenant: &TenantId) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM memories m WHERE {LIVE}");
    let n: i64 =
        c.prepare_cached(&sql)?.query_row(params![tenant.as_str(), codec::wall_now()], |r| r.get(0))?;
    Ok(n as u64)
}
