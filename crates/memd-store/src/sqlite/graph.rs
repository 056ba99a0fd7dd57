//! The knowledge graph in SQLite: `kg_entities`, `kg_observations` (each with the id of the
//! memory mirroring it) and `kg_relations`, all keyed by tenant and user; `id` columns keep
//! insertion order. Writes run on the group-committing writer, so an observation and its mirror
//! memory (with its change-log and embedding-queue rows) commit together.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use serde_json::{json, Map};
use uuid::Uuid;

use super::memories;
use crate::graph::{
    contains_ci, observation_text, AddedObservations, Entity, Graph, GraphRead, GraphWrite, GraphWritten,
    ObservationAdd, ObservationDelete, Relation, GRAPH_ENTITY_KEY, GRAPH_TAG,
};
use crate::{NewMemory, Result, StoreError, TenantId};

/// Whose graph: every statement binds both.
pub(super) struct Owner<'a> {
    tenant: &'a TenantId,
    tenant_str: &'a str,
    user: &'a str,
}

impl<'a> Owner<'a> {
    pub(super) fn new(tenant: &'a TenantId, user: &'a str) -> Self {
        Self { tenant, tenant_str: tenant.as_str(), user }
    }
}

fn no_nul(field: &str, s: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(StoreError::Invalid(format!("{field} must not contain NUL characters")));
    }
    Ok(())
}

pub(super) fn write(
    c: &Connection,
    o: &Owner<'_>,
    op: GraphWrite,
    now: DateTime<Utc>,
) -> Result<GraphWritten> {
    no_nul("user_id", o.user)?;
    match op {
        GraphWrite::CreateEntities(entities) => {
            create_entities(c, o, entities, now).map(GraphWritten::Entities)
        }
        GraphWrite::CreateRelations(relations) => {
            create_relations(c, o, relations).map(GraphWritten::Relations)
        }
        GraphWrite::AddObservations(adds) => {
            add_observations(c, o, adds, now).map(GraphWritten::Observations)
        }
        GraphWrite::DeleteEntities(names) => {
            names.iter().try_for_each(|n| delete_entity(c, o, n, now))?;
            Ok(GraphWritten::Deleted)
        }
        GraphWrite::DeleteObservations(dels) => {
            dels.iter().try_for_each(|d| delete_observations(c, o, d, now))?;
            Ok(GraphWritten::Deleted)
        }
        GraphWrite::DeleteRelations(relations) => {
            relations.iter().try_for_each(|r| delete_relation(c, o, r))?;
            Ok(GraphWritten::Deleted)
        }
    }
}

/// `(id, entityType)` of an entity.
fn find(c: &Connection, o: &Owner<'_>, name: &str) -> Result<Option<(i64, String)>> {
    Ok(c.prepare_cached(
        "SELECT id, entity_type FROM kg_entities WHERE tenant = ?1 AND user_id = ?2 AND name = ?3",
    )?
    .query_row(params![o.tenant.as_str(), o.user, name], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()?)
}

fn create_entities(
    c: &Connection,
    o: &Owner<'_>,
    entities: Vec<Entity>,
    now: DateTime<Utc>,
) -> Result<Vec<Entity>> {
    let mut created = Vec::new();
    for e in entities {
        no_nul("entity name", &e.name)?;
        no_nul("entity type", &e.entity_type)?;
        let inserted = c
            .prepare_cached(
                "INSERT OR IGNORE INTO kg_entities (tenant, user_id, name, entity_type) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![o.tenant.as_str(), o.user, e.name, e.entity_type])?;
        if inserted == 0 {
            continue;
        }
        let id = c.last_insert_rowid();
        let mut kept = Vec::with_capacity(e.observations.len());
        for obs in e.observations {
            if add_observation(c, o, (id, &e.name, &e.entity_type), &obs, now)? {
                kept.push(obs);
            }
        }
        created.push(Entity { name: e.name, entity_type: e.entity_type, observations: kept });
    }
    Ok(created)
}

/// Adds one observation and its mirror memory; `false` when the entity already had it.
fn add_observation(
    c: &Connection,
    o: &Owner<'_>,
    (entity_id, name, entity_type): (i64, &str, &str),
    obs: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    no_nul("observation", obs)?;
    let inserted = c
        .prepare_cached("INSERT OR IGNORE INTO kg_observations (entity_id, content) VALUES (?1, ?2)")?
        .execute(params![entity_id, obs])?;
    if inserted == 0 {
        return Ok(false);
    }
    let row = c.last_insert_rowid();
    let mut metadata = Map::new();
    metadata.insert(GRAPH_ENTITY_KEY.to_owned(), json!(name));
    let mirror = NewMemory {
        user_id: o.user.to_owned(),
        content: observation_text(name, entity_type, obs),
        tags: vec![GRAPH_TAG.to_owned()],
        metadata,
        ..NewMemory::default()
    };
    let stored = memories::insert(c, o.tenant, vec![mirror], now)?;
    if let Some(m) = stored.first() {
        c.prepare_cached("UPDATE kg_observations SET memory_id = ?2 WHERE id = ?1")?
            .execute(params![row, m.id.as_bytes()])?;
    }
    Ok(true)
}

fn add_observations(
    c: &Connection,
    o: &Owner<'_>,
    adds: Vec<ObservationAdd>,
    now: DateTime<Utc>,
) -> Result<Vec<AddedObservations>> {
    let mut out = Vec::with_capacity(adds.len());
    for a in adds {
        let Some((id, entity_type)) = find(c, o, &a.entity_name)? else {
            return Err(StoreError::Invalid(format!("Entity with name {} not found", a.entity_name)));
        };
        let mut added = Vec::new();
        for obs in a.contents {
            if add_observation(c, o, (id, &a.entity_name, &entity_type), &obs, now)? {
                added.push(obs);
            }
        }
        out.push(AddedObservations { entity_name: a.entity_name, added_observations: added });
    }
    Ok(out)
}

/// Tombstones the mirror memory of an observation (already gone if deleted by hand).
fn drop_mirror(c: &Connection, o: &Owner<'_>, memory_id: Option<Vec<u8>>, now: DateTime<Utc>) -> Result<()> {
    let Some(id) = memory_id.and_then(|b| Uuid::from_slice(&b).ok()) else {
        return Ok(());
    };
    match memories::delete(c, o.tenant, id, now) {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

fn delete_observations(
    c: &Connection,
    o: &Owner<'_>,
    d: &ObservationDelete,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some((entity_id, _)) = find(c, o, &d.entity_name)? else {
        return Ok(());
    };
    for obs in &d.observations {
        let mirror: Option<Option<Vec<u8>>> = c
            .prepare_cached(
                "DELETE FROM kg_observations WHERE entity_id = ?1 AND content = ?2 RETURNING memory_id",
            )?
            .query_row(params![entity_id, obs], |r| r.get(0))
            .optional()?;
        if let Some(mirror) = mirror {
            drop_mirror(c, o, mirror, now)?;
        }
    }
    Ok(())
}

fn delete_entity(c: &Connection, o: &Owner<'_>, name: &str, now: DateTime<Utc>) -> Result<()> {
    if let Some((entity_id, _)) = find(c, o, name)? {
        let mirrors: Vec<Option<Vec<u8>>> = c
            .prepare_cached("DELETE FROM kg_observations WHERE entity_id = ?1 RETURNING memory_id")?
            .query_map([entity_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for m in mirrors {
            drop_mirror(c, o, m, now)?;
        }
        c.prepare_cached("DELETE FROM kg_entities WHERE id = ?1")?.execute([entity_id])?;
    }
    c.prepare_cached(
        "DELETE FROM kg_relations WHERE tenant = ?1 AND user_id = ?2 AND (src = ?3 OR dst = ?3)",
    )?
    .execute(params![o.tenant.as_str(), o.user, name])?;
    Ok(())
}

fn create_relations(c: &Connection, o: &Owner<'_>, relations: Vec<Relation>) -> Result<Vec<Relation>> {
    let mut created = Vec::new();
    for r in relations {
        for (field, s) in [("from", &r.from), ("to", &r.to), ("relationType", &r.relation_type)] {
            no_nul(field, s)?;
        }
        let inserted = c
            .prepare_cached(
                "INSERT OR IGNORE INTO kg_relations (tenant, user_id, src, dst, rel_type) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![o.tenant.as_str(), o.user, r.from, r.to, r.relation_type])?;
        if inserted == 1 {
            created.push(r);
        }
    }
    Ok(created)
}

fn delete_relation(c: &Connection, o: &Owner<'_>, r: &Relation) -> Result<()> {
    c.prepare_cached(
        "DELETE FROM kg_relations WHERE tenant = ?1 AND user_id = ?2 AND src = ?3 AND dst = ?4 AND rel_type = ?5",
    )?
    .execute(params![o.tenant.as_str(), o.user, r.from, r.to, r.relation_type])?;
    Ok(())
}

// ---- reads (run in one read transaction) ----

pub(super) fn read(c: &Connection, o: &Owner<'_>, q: &GraphRead) -> Result<Graph> {
    match q {
        GraphRead::Page { cursor, limit } => page(c, o, *cursor, *limit),
        GraphRead::Names(names) => {
            let filter = "AND name IN (SELECT value FROM json_each(?3))";
            let entities = entities_where(c, o, filter, Some(json!(names).to_string()), None)?;
            with_touching_relations(c, o, entities)
        }
        GraphRead::Containing { query, limit } => {
            let entities = containing(c, o, &query.to_lowercase(), *limit)?;
            with_touching_relations(c, o, entities)
        }
    }
}

/// `?1` tenant, `?2` user and, when given, `?3`.
fn bind<'a>(o: &'a Owner<'_>, arg: &'a Option<String>) -> Vec<&'a dyn ToSql> {
    let mut args: Vec<&dyn ToSql> = vec![&o.tenant_str, &o.user];
    if let Some(a) = arg {
        args.push(a);
    }
    args
}

/// Entities (with observations, in order) of the owner matching `filter`, an SQL condition
/// that may use `?3` (= `arg`).
fn entities_where(
    c: &Connection,
    o: &Owner<'_>,
    filter: &str,
    arg: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<(i64, Entity)>> {
    // The limit is a parameter (the last one), so each query shape is one cached statement.
    let mut args = bind(o, &arg);
    let limit = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
    let limit_sql = match &limit {
        Some(l) => {
            args.push(l);
            format!("LIMIT ?{}", args.len())
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT id, name, entity_type FROM kg_entities WHERE tenant = ?1 AND user_id = ?2 {filter}
         ORDER BY id {limit_sql}"
    );
    let mut entities: Vec<(i64, Entity)> = c
        .prepare_cached(&sql)?
        .query_map(args.as_slice(), |r| {
            Ok((r.get(0)?, Entity { name: r.get(1)?, entity_type: r.get(2)?, observations: Vec::new() }))
        })?
        .collect::<rusqlite::Result<_>>()?;
    fill_observations(c, &mut entities)?;
    Ok(entities)
}

fn fill_observations(c: &Connection, entities: &mut [(i64, Entity)]) -> Result<()> {
    if entities.is_empty() {
        return Ok(());
    }
    let at: HashMap<i64, usize> = entities.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    let ids: Vec<i64> = entities.iter().map(|(id, _)| *id).collect();
    let mut stmt = c.prepare_cached(
        "SELECT entity_id, content FROM kg_observations
         WHERE entity_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
    )?;
    let rows =
        stmt.query_map([json!(ids).to_string()], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (entity_id, content) = row?;
        if let Some(&i) = at.get(&entity_id) {
            entities[i].1.observations.push(content);
        }
    }
    Ok(())
}

/// Relations of the owner matching `filter` (which may use `?3` = `arg`), in order.
fn relations(c: &Connection, o: &Owner<'_>, filter: &str, arg: Option<String>) -> Result<Vec<Relation>> {
    let sql = format!(
        "SELECT src, dst, rel_type FROM kg_relations WHERE tenant = ?1 AND user_id = ?2 {filter} ORDER BY id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(bind(o, &arg).as_slice(), |r| {
        Ok(Relation { from: r.get(0)?, to: r.get(1)?, relation_type: r.get(2)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn with_touching_relations(c: &Connection, o: &Owner<'_>, entities: Vec<(i64, Entity)>) -> Result<Graph> {
    let names: Vec<&str> = entities.iter().map(|(_, e)| e.name.as_str()).collect();
    let touching =
        "AND (src IN (SELECT value FROM json_each(?3)) OR dst IN (SELECT value FROM json_each(?3)))";
    let relations = if names.is_empty() {
        Vec::new()
    } else {
        relations(c, o, touching, Some(json!(names).to_string()))?
    };
    Ok(Graph { entities: entities.into_iter().map(|(_, e)| e).collect(), relations, next_cursor: None })
}

fn page(c: &Connection, o: &Owner<'_>, cursor: Option<i64>, limit: usize) -> Result<Graph> {
    let limit = limit.max(1);
    let after = Some(cursor.unwrap_or(0).to_string());
    let mut entities = entities_where(c, o, "AND id > CAST(?3 AS INTEGER)", after, Some(limit + 1))?;
    let more = entities.len() > limit;
    entities.truncate(limit);
    let next_cursor = if more { entities.last().map(|(id, _)| *id) } else { None };
    if cursor.is_none() && !more {
        let relations = relations(c, o, "", None)?;
        return Ok(Graph {
            entities: entities.into_iter().map(|(_, e)| e).collect(),
            relations,
            next_cursor,
        });
    }
    // Each relation on exactly one page: the page of its `from` entity; a relation whose `from`
    // is no entity, on the page of its `to`; one touching no entity, on the last page.
    let names: Vec<&str> = entities.iter().map(|(_, e)| e.name.as_str()).collect();
    let owned = "AND (src IN (SELECT value FROM json_each(?3))
                 OR (dst IN (SELECT value FROM json_each(?3))
                     AND src NOT IN (SELECT name FROM kg_entities WHERE tenant = ?1 AND user_id = ?2)))";
    let mut relations = relations(c, o, owned, Some(json!(names).to_string()))?;
    if !more {
        let dangling = "AND src NOT IN (SELECT name FROM kg_entities WHERE tenant = ?1 AND user_id = ?2)
                        AND dst NOT IN (SELECT name FROM kg_entities WHERE tenant = ?1 AND user_id = ?2)";
        relations.extend(self::relations(c, o, dangling, None)?);
    }
    let mut graph =
        Graph { entities: entities.into_iter().map(|(_, e)| e).collect(), relations, next_cursor: None };
    graph.next_cursor = next_cursor;
    Ok(graph)
}

/// The reference server's search: name, type or any observation contains the query
/// (case-insensitive), the first `limit` matches in insertion order.
fn containing(c: &Connection, o: &Owner<'_>, needle: &str, limit: usize) -> Result<Vec<(i64, Entity)>> {
    let matches = |e: &Entity| {
        contains_ci(&e.name, needle)
            || contains_ci(&e.entity_type, needle)
            || e.observations.iter().any(|obs| contains_ci(obs, needle))
    };
    // In pages, stopping at `limit` matches: memory stays bounded by a page however large the
    // graph (the match is Unicode case-insensitive, which SQLite's LIKE and lower() are not).
    let mut found = Vec::new();
    let mut after = 0i64;
    while found.len() < limit {
        let filter = "AND id > CAST(?3 AS INTEGER)";
        let page = entities_where(c, o, filter, Some(after.to_string()), Some(CONTAINING_PAGE))?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        let full = page.len() == CONTAINING_PAGE;
        found.extend(page.into_iter().filter(|(_, e)| matches(e)));
        if !full {
            break;
        }
    }
    found.truncate(limit);
    Ok(found)
}

/// Entities read at a time by a substring search.
const CONTAINING_PAGE: usize = 256;
