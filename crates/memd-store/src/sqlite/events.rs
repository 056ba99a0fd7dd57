//! The `events` table: append, read newest first, prune by age and count.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, ToSql};

use super::codec::{self, micros};
use crate::events::{Event, EventQuery, NewEvent, Severity, Silence};
use crate::{Result, StoreError};

pub(super) fn record(c: &Connection, e: &NewEvent, now: DateTime<Utc>) -> Result<Event> {
    if e.kind.contains('\0') || e.kind.is_empty() {
        return Err(StoreError::Invalid("event type must be non-empty text without NUL".into()));
    }
    let details = codec::to_json(&e.details)?;
    let at = codec::truncate(now);
    c.prepare_cached("INSERT INTO events (type, severity, details, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![e.kind, e.severity.as_str(), details, micros(at)])?;
    Ok(Event {
        id: c.last_insert_rowid(),
        kind: e.kind.clone(),
        severity: e.severity,
        details: e.details.clone(),
        created_at: at,
    })
}

pub(super) fn list(c: &Connection, q: &EventQuery) -> Result<Vec<Event>> {
    let mut sql = String::from("SELECT id, type, severity, details, created_at FROM events WHERE 1 = 1");
    let since = q.since.map(micros);
    let mut args: Vec<&dyn ToSql> = Vec::new();
    if let Some(kind) = &q.kind {
        args.push(kind);
        sql.push_str(&format!(" AND type = ?{}", args.len()));
    }
    if let Some(since) = &since {
        args.push(since);
        sql.push_str(&format!(" AND created_at >= ?{}", args.len()));
    }
    if let Some(before) = &q.before_id {
        args.push(before);
        sql.push_str(&format!(" AND id < ?{}", args.len()));
    }
    let limit = i64::try_from(q.limit.max(1)).unwrap_or(i64::MAX);
    args.push(&limit);
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query(args.as_slice())?;
    codec::collect(rows, |r| {
        let severity: String = r.get(2)?;
        let details: String = r.get(3)?;
        Ok(Event {
            id: r.get(0)?,
            kind: r.get(1)?,
            severity: Severity::parse(&severity)
                .ok_or_else(|| StoreError::Corrupt(format!("event severity {severity:?}")))?,
            details: serde_json::from_str(&details)
                .map_err(|e| StoreError::Corrupt(format!("event details: {e}")))?,
            created_at: codec::time(r.get(4)?)?,
        })
    })
}

/// Deletes events older than `before` and, beyond that, all but the newest `keep`.
pub(super) fn prune(c: &Connection, before: DateTime<Utc>, keep: usize) -> Result<u64> {
    let old = c.prepare_cached("DELETE FROM events WHERE created_at < ?1")?.execute([micros(before)])?;
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let excess = c
        .prepare_cached(
            "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)",
        )?
        .execute([keep])?;
    Ok((old + excess) as u64)
}

/// Stores a silence (its `id` is assigned) and drops silences that ended before `now`.
pub(super) fn create_silence(c: &Connection, s: &Silence, now: DateTime<Utc>) -> Result<Silence> {
    c.prepare_cached("DELETE FROM alert_silences WHERE ends_at <= ?1")?.execute([micros(now)])?;
    c.prepare_cached(
        "INSERT INTO alert_silences (matchers, starts_at, ends_at, comment) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        codec::to_json(&s.matchers)?,
        micros(s.starts_at),
        micros(s.ends_at),
        s.comment
    ])?;
    Ok(Silence { id: c.last_insert_rowid(), ..s.clone() })
}

pub(super) fn delete_silence(c: &Connection, id: i64) -> Result<bool> {
    Ok(c.prepare_cached("DELETE FROM alert_silences WHERE id = ?1")?.execute([id])? == 1)
}

/// Silences that have not ended at `now`, oldest first.
pub(super) fn silences(c: &Connection, now: DateTime<Utc>) -> Result<Vec<Silence>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, matchers, starts_at, ends_at, comment FROM alert_silences WHERE ends_at > ?1 ORDER BY id",
    )?;
    let rows = stmt.query([micros(now)])?;
    codec::collect(rows, |r| {
        let matchers: String = r.get(1)?;
        Ok(Silence {
            id: r.get(0)?,
            matchers: serde_json::from_str(&matchers)
                .map_err(|e| StoreError::Corrupt(format!("silence matchers: {e}")))?,
            starts_at: codec::time(r.get(2)?)?,
            ends_at: codec::time(r.get(3)?)?,
            comment: r.get(4)?,
        })
    })
}
