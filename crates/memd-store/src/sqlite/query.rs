//! Tenant-scoped listing (filters evaluated in SQL, keyset pagination) and the tag statistics.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use super::codec::{self, micros, sql_limit, LIVE, MEMORY_COLS};
use crate::{Filter, ListQuery, Memory, Page, Result, TagCount, TagMatch, TenantId, TimeField};

/// A WHERE clause under construction; `?1` is always the tenant and `?2` the time `now`.
struct Sql {
    clause: String,
    params: Vec<Value>,
}

impl Sql {
    fn new(tenant: &TenantId, now: DateTime<Utc>) -> Self {
        Self {
            clause: LIVE.to_owned(),
            params: vec![Value::Text(tenant.as_str().to_owned()), Value::Integer(micros(now))],
        }
    }

    /// Binds `v` and returns its placeholder.
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        format!("?{}", self.params.len())
    }

    fn and(&mut self, cond: &str) {
        self.clause.push_str(" AND ");
        self.clause.push_str(cond);
    }

    fn eq(&mut self, column: &str, v: &Option<String>) {
        if let Some(v) = v {
            let p = self.bind(v.clone());
            self.and(&format!("{column} = {p}"));
        }
    }

    fn filter(&mut self, f: &Filter) -> Result<()> {
        if let Some(u) = &f.user_id {
            let p = self.bind(u.clone());
            self.and(&format!("m.user_id = {p}"));
        }
        self.eq("m.agent_id", &f.agent_id);
        self.eq("m.session_id", &f.session_id);
        self.tags(f);
        let time = match f.time_field {
            TimeField::EventTime => "COALESCE(m.event_time, m.created_at)",
            TimeField::CreatedAt => "m.created_at",
        };
        if let Some(a) = f.after {
            let p = self.bind(micros(a));
            self.and(&format!("{time} >= {p}"));
        }
        if let Some(b) = f.before {
            let p = self.bind(micros(b));
            self.and(&format!("{time} < {p}"));
        }
        for (k, v) in &f.metadata {
            let (pk, pv) = (self.bind(k.clone()), self.bind(codec::to_json(v)?));
            self.and(&format!("memd_json_eq(m.metadata, {pk}, {pv})"));
        }
        Ok(())
    }

    fn tags(&mut self, f: &Filter) {
        let wanted: BTreeSet<&String> = f.tags.iter().collect();
        if wanted.is_empty() {
            return;
        }
        let list: Vec<String> = wanted.iter().map(|t| self.bind((*t).clone())).collect();
        let mut sub = format!(
            "m.id IN (SELECT t.memory_id FROM memory_tags t WHERE t.tenant = ?1 AND t.tag IN ({})",
            list.join(", ")
        );
        if f.tag_match == TagMatch::All {
            let n = self.bind(wanted.len() as i64);
            sub.push_str(&format!(" GROUP BY t.memory_id HAVING count(*) = {n}"));
        }
        sub.push(')');
        self.and(&sub);
    }
}

pub(super) fn list(
    c: &Connection,
    tenant: &TenantId,
    q: &ListQuery,
    now: DateTime<Utc>,
) -> Result<Page<Memory>> {
    let limit = q.limit.max(1);
    let mut sql = Sql::new(tenant, now);
    sql.filter(&q.filter)?;
    if let Some(cursor) = &q.cursor {
        let (t, id) = codec::decode_cursor(cursor)?;
        let (pt, pid) = (sql.bind(t), sql.bind(id.as_bytes().to_vec()));
        sql.and(&format!("(m.created_at, m.id) < ({pt}, {pid})"));
    }
    let pl = sql.bind(sql_limit(limit.saturating_add(1)));
    let text = format!(
        "SELECT {MEMORY_COLS} FROM memories m WHERE {} ORDER BY m.created_at DESC, m.id DESC \
         LIMIT {pl}",
        sql.clause
    );
    let mut stmt = c.prepare_cached(&text)?;
    let rows = stmt.query(params_from_iter(sql.params.iter()))?;
    let mut items = codec::collect(rows, codec::memory)?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|m| codec::encode_cursor(micros(m.created_at), m.id))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

fn tag_count(row: &rusqlite::Row<'_>) -> Result<TagCount> {
    let n: i64 = row.get(1)?;
    Ok(TagCount { tag: row.get(0)?, count: n as u64 })
}

/// `AND m.user_id = ?3` when a user is given, so each variant can use its own index.
fn user_clause(user_id: Option<&str>) -> &'static str {
    if user_id.is_some() {
        "AND m.user_id = ?3"
    } else {
        "AND ?3 IS NULL"
    }
}

pub(super) fn tag_counts(
    c: &Connection,
    tenant: &TenantId,
    user_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<TagCount>> {
    // memory_tags holds live memories only; expiry is checked on its copy of expires_at.
    let sql = format!(
        "SELECT m.tag, count(*) AS n FROM memory_tags m
         WHERE m.tenant = ?1 AND (m.expires_at IS NULL OR m.expires_at > ?2) {}
         GROUP BY m.tag ORDER BY n DESC, m.tag",
        user_clause(user_id)
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query(params![tenant.as_str(), micros(now), user_id])?;
    codec::collect(rows, tag_count)
}

pub(super) fn tag_neighbours(
    c: &Connection,
    tenant: &TenantId,
    user_id: Option<&str>,
    tag: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<TagCount>> {
    // CROSS JOIN fixes the join order: the tag's rows first, then each memory's other tags by
    // primary key (`b` needs no tenant term: memory ids are unique across tenants).
    let sql = format!(
        "SELECT b.tag, count(*) AS n FROM memory_tags m
         CROSS JOIN memory_tags b ON b.memory_id = m.memory_id AND b.tag <> m.tag
         WHERE m.tenant = ?1 AND (m.expires_at IS NULL OR m.expires_at > ?2) {} AND m.tag = ?4
         GROUP BY b.tag ORDER BY n DESC, b.tag LIMIT ?5",
        user_clause(user_id)
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query(params![tenant.as_str(), micros(now), user_id, tag, sql_limit(limit)])?;
    codec::collect(rows, tag_count)
}
