//! API keys: only the secret's hash is stored; scopes as a comma-separated list.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use uuid::Uuid;

use super::codec::{self, micros};
use crate::{ApiKey, Result, Scope, StoreError, TenantId};

const KEY_COLS: &str = "id, tenant, scopes, user_id, prefix, created_at, revoked_at";

fn key(row: &rusqlite::Row<'_>) -> Result<ApiKey> {
    let scopes: String = row.get(2)?;
    let scopes = scopes
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Scope::parse(s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    Ok(ApiKey {
        id: codec::uuid_at(row, 0)?,
        tenant: codec::tenant_at(row, 1)?,
        scopes,
        user_id: row.get(3)?,
        prefix: row.get(4)?,
        created_at: codec::time(row.get(5)?)?,
        revoked_at: codec::opt_time(row.get(6)?)?,
    })
}

pub(super) fn create(c: &Connection, k: &ApiKey, secret_hash: &str) -> Result<()> {
    let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
    let res = c
        .prepare_cached(
            "INSERT INTO api_keys (id, tenant, secret_hash, scopes, user_id, prefix, created_at,
                revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            k.id.as_bytes(),
            k.tenant.as_str(),
            secret_hash,
            scopes.join(","),
            k.user_id,
            k.prefix,
            micros(k.created_at),
            k.revoked_at.map(micros),
        ]);
    match res {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            Err(StoreError::Conflict("an API key with this id or secret already exists".into()))
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

pub(super) fn find(c: &Connection, secret_hash: &str) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE secret_hash = ?1 AND revoked_at IS NULL");
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query([secret_hash])?;
    rows.next()?.map(key).transpose()
}

pub(super) fn list(c: &Connection, tenant: Option<&TenantId>) -> Result<Vec<ApiKey>> {
    let sql = format!(
        "SELECT {KEY_COLS} FROM api_keys WHERE (?1 IS NULL OR tenant = ?1)
         ORDER BY tenant, created_at, id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query([tenant.map(|t| t.as_str())])?;
    codec::collect(rows, key)
}

/// Idempotent: revoking a revoked key succeeds; an unknown id is `NotFound`.
pub(super) fn revoke(c: &Connection, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    let n = c
        .prepare_cached("UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id.as_bytes(), micros(now)])?;
    if n > 0 {
        return Ok(());
    }
    let exists = c
        .prepare_cached("SELECT 1 FROM api_keys WHERE id = ?1")?
        .query_row([id.as_bytes()], |_| Ok(()))
        .optional()?;
    exists.ok_or(StoreError::NotFound)
}

pub(super) fn has_any(c: &Connection) -> Result<bool> {
    Ok(c.prepare_cached("SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)")?
        .query_row([], |r| r.get(0))?)
}
