//! Storability checks shared by every backend, so they all accept and refuse the same values.
//!
//! The one rule: no text the store keeps may contain a NUL character. PostgreSQL refuses NUL in
//! `text` and `\u0000` in `jsonb`; SQLite would accept both. Refusing it everywhere keeps the
//! backends interchangeable (a memory written to one can always be copied to the other).

use serde_json::Value;

use crate::{MemoryPatch, NewMemory, StoreError};

fn check_text(field: &str, s: &str) -> Result<(), StoreError> {
    if s.contains('\0') {
        return Err(StoreError::Invalid(format!("{field} must not contain NUL characters")));
    }
    Ok(())
}

fn check_json(v: &Value) -> Result<(), StoreError> {
    match v {
        Value::String(s) => check_text("metadata", s),
        Value::Array(items) => items.iter().try_for_each(check_json),
        Value::Object(map) => check_map(map),
        _ => Ok(()),
    }
}

fn check_map(map: &serde_json::Map<String, Value>) -> Result<(), StoreError> {
    map.iter().try_for_each(|(k, v)| {
        check_text("metadata", k)?;
        check_json(v)
    })
}

fn check_tags(tags: &[String]) -> Result<(), StoreError> {
    tags.iter().try_for_each(|t| check_text("tags", t))
}

/// Whether every text of `m` can be stored by every backend.
pub(crate) fn new_memory(m: &NewMemory) -> Result<(), StoreError> {
    check_text("user_id", &m.user_id)?;
    for (field, v) in [("agent_id", &m.agent_id), ("app_id", &m.app_id), ("session_id", &m.session_id)] {
        if let Some(v) = v {
            check_text(field, v)?;
        }
    }
    check_text("content", &m.content)?;
    check_text("kind", &m.kind)?;
    if let Some(c) = &m.cxd {
        check_text("cxd", c)?;
    }
    check_tags(&m.tags)?;
    check_map(&m.metadata)
}

/// Whether every text of `p` can be stored by every backend.
pub(crate) fn patch(p: &MemoryPatch) -> Result<(), StoreError> {
    if let Some(c) = &p.content {
        check_text("content", c)?;
    }
    if let Some(t) = &p.tags {
        check_tags(t)?;
    }
    if let Some(m) = &p.metadata {
        check_map(m)?;
    }
    Ok(())
}
