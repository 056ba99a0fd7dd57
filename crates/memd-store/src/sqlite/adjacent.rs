//! [`Store::adjacent`](crate::Store::adjacent): a memory's neighbours in its user's insertion
//! order: the memory itself, then one keyset seek each way on `memories_tenant_user_created`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use uuid::Uuid;

use super::codec::{self, micros, LIVE};
use crate::{Adjacent, Placement, Result, TenantId};

const PLACEMENT_COLS: &str = "m.id, m.session_id, m.event_time, m.created_at";

fn placement(row: &Row<'_>) -> Result<Placement> {
    Ok(Placement {
        id: codec::uuid_at(row, 0)?,
        session_id: row.get(1)?,
        event_time: codec::opt_time(row.get(2)?)?,
        created_at: codec::time(row.get(3)?)?,
    })
}

pub(super) fn adjacent(
    c: &Connection,
    tenant: &TenantId,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Adjacent>> {
    let mut out = Vec::with_capacity(ids.len());
    let this = format!("SELECT {PLACEMENT_COLS}, m.user_id FROM memories m WHERE {LIVE} AND m.id = ?3");
    let mut this = c.prepare_cached(&this)?;
    for id in ids {
        let found = this
            .query_row(params![tenant.as_str(), micros(now), id.as_bytes()], |row| {
                Ok((placement(row), row.get::<_, String>(4)?))
            })
            .optional()?;
        let Some((memory, user)) = found else { continue };
        let memory = memory?;
        let before = beside(c, tenant, &user, &memory, now, true)?;
        let after = beside(c, tenant, &user, &memory, now, false)?;
        out.push(Adjacent { memory, before, after });
    }
    Ok(out)
}

/// The live memory of `user` stored just before (or after) `m`.
fn beside(
    c: &Connection,
    tenant: &TenantId,
    user: &str,
    m: &Placement,
    now: DateTime<Utc>,
    before: bool,
) -> Result<Option<Placement>> {
    let (cmp, dir) = if before { ("<", "DESC") } else { (">", "ASC") };
    // The row-value comparison is a range on the index (tenant, user_id, created_at, id).
    let sql = format!(
        "SELECT {PLACEMENT_COLS} FROM memories m WHERE {LIVE} AND m.user_id = ?3 \
         AND (m.created_at, m.id) {cmp} (?4, ?5) ORDER BY m.created_at {dir}, m.id {dir} LIMIT 1"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let args = params![tenant.as_str(), micros(now), user, micros(m.created_at), m.id.as_bytes()];
    let row = stmt.query_row(args, |row| Ok(placement(row))).optional()?;
    row.transpose()
}
