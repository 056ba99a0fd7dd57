//! The SQLite schema: connection pragmas, the ordered migrations (tracked in
//! `PRAGMA user_version`) and the SQL functions every connection registers.

use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Map, Value};

use super::Durability;
use crate::{Result, StoreError};

/// How long a statement waits for another connection's (or process's) lock before failing.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migrations in order; migration `i` moves the schema from version `i` to `i + 1`. Never edit
/// one that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE memories (
    id              BLOB PRIMARY KEY,      -- 16-byte UUIDv7
    tenant          TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    agent_id        TEXT,
    app_id          TEXT,
    session_id      TEXT,
    content         TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    tags            TEXT NOT NULL,         -- JSON array
    metadata        TEXT NOT NULL,         -- JSON object
    kind            TEXT NOT NULL,
    cxd             TEXT,
    event_time      INTEGER,               -- all times: unix microseconds, UTC
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    version         INTEGER NOT NULL,
    deleted_at      INTEGER,
    embedding_model TEXT
);
CREATE INDEX memories_tenant_created ON memories (tenant, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX memories_tenant_user_created ON memories (tenant, user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
-- Counting live memories reads only this index.
CREATE INDEX memories_tenant_expires ON memories (tenant, expires_at) WHERE deleted_at IS NULL;

-- Tags of live memories only (rows are removed on tombstone); user_id and expires_at are
-- copied from the memory so counts and neighbours never touch `memories`.
CREATE TABLE memory_tags (
    memory_id  BLOB NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    tenant     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (memory_id, tag)
) WITHOUT ROWID;
CREATE INDEX memory_tags_tenant_tag ON memory_tags (tenant, tag, expires_at);
CREATE INDEX memory_tags_tenant_user_tag ON memory_tags (tenant, user_id, tag, expires_at);

CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT NOT NULL,
    memory_id   BLOB NOT NULL,
    event       TEXT NOT NULL,
    old_content TEXT,
    new_content TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX history_tenant_memory ON history (tenant, memory_id, id);

CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant    TEXT NOT NULL,
    memory_id BLOB NOT NULL,
    op        TEXT NOT NULL
);

-- The durable embedding queue; `qid` orders it oldest first (re-queueing moves a row to the back).
CREATE TABLE embed_queue (
    qid         INTEGER PRIMARY KEY,
    memory_id   BLOB NOT NULL UNIQUE REFERENCES memories (id) ON DELETE CASCADE,
    tenant      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL
);

-- The vector of a memory's current content; deleted when the content changes.
CREATE TABLE embeddings (
    memory_id BLOB PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    tenant    TEXT NOT NULL,
    model     TEXT NOT NULL,
    dim       INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    vector    BLOB NOT NULL                -- little-endian f32
);
CREATE INDEX embeddings_model ON embeddings (model);

CREATE TABLE api_keys (
    id          BLOB PRIMARY KEY,
    tenant      TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,             -- comma-separated
    user_id     TEXT,
    prefix      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);
"#,
    r#"
-- The knowledge graph (MCP reference memory server semantics), one per tenant and user; `id`
-- keeps insertion order. Each observation is mirrored by a memory (`memory_id`).
CREATE TABLE kg_entities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    UNIQUE (tenant, user_id, name)
);
CREATE TABLE kg_observations (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id INTEGER NOT NULL REFERENCES kg_entities (id) ON DELETE CASCADE,
    content   TEXT NOT NULL,
    memory_id BLOB,
    UNIQUE (entity_id, content)
);
CREATE TABLE kg_relations (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant   TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    src      TEXT NOT NULL,
    dst      TEXT NOT NULL,
    rel_type TEXT NOT NULL,
    UNIQUE (tenant, user_id, src, dst, rel_type)
);
CREATE INDEX kg_relations_dst ON kg_relations (tenant, user_id, dst);
"#,
    r#"
-- Operational events (system-wide; no memory content, no secrets), pruned by age and count.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    details    TEXT NOT NULL,              -- JSON
    created_at INTEGER NOT NULL
);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_type ON events (type, id);
"#,
    r#"
-- Per-minute performance aggregates by series (a route template, or search_cache), pruned by age.
CREATE TABLE perf_minutes (
    minute   INTEGER NOT NULL,             -- unix minutes
    series   TEXT NOT NULL,
    requests INTEGER NOT NULL,
    errors   INTEGER NOT NULL,
    latency  TEXT NOT NULL,                -- JSON array of bucket counts
    PRIMARY KEY (minute, series)
) WITHOUT ROWID;
"#,
    r#"
-- Silences and maintenance windows of the alert engine; ended ones are dropped on the next write.
CREATE TABLE alert_silences (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    matchers  TEXT NOT NULL,               -- JSON object label -> value
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL,
    comment   TEXT NOT NULL
);
"#,
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Pragmas for every connection. Never `locking_mode=EXCLUSIVE`: another memd process may open
/// the same file.
pub(super) fn configure(conn: &Connection, durability: Durability, reader: bool) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync}; PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16384;"
    ))?;
    if reader {
        conn.pragma_update(None, "query_only", true)?;
    } else {
        // Truncate the WAL back to 64 MiB after checkpoints instead of letting it stay large.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    }
    register_functions(conn)
}

/// Switches the file to WAL (persistent; a no-op when it already is).
///
/// Two processes creating the same new file both hold a shared lock when they ask for the
/// switch; SQLite then answers one of them `SQLITE_BUSY` at once, without the busy handler (which
/// could deadlock). That one retries until the other has switched, within [`BUSY_TIMEOUT`].
pub(super) fn enable_wal(conn: &Connection) -> Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mode: String = loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => break other?,
        }
    };
    if mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory") {
        Ok(())
    } else {
        Err(StoreError::Backend(format!("could not enable WAL mode (journal_mode is {mode})")))
    }
}

/// The schema version stored in the file.
pub(super) fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies the migrations the file lacks, all in one transaction. Safe to run concurrently from
/// two processes: the version is re-read under the write lock.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    check_not_newer(version(conn)?)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = version(&tx)?;
    check_not_newer(current)?;
    let from = usize::try_from(current).unwrap_or(0);
    for sql in &MIGRATIONS[from..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn check_not_newer(found: i64) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "the database has schema version {found} but this memd supports up to \
             {SCHEMA_VERSION}; it was written by a newer memd — upgrade memd to open it"
        )));
    }
    Ok(())
}

/// `memd_json_eq(object_json, key, value_json)`: 1 when the object's top-level `key` equals
/// `value_json` as JSON values — exactly the comparison of [`crate::Filter::matches`].
fn register_functions(conn: &Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("memd_json_eq", 3, flags, |ctx| {
        let doc: String = ctx.get(0)?;
        let key: String = ctx.get(1)?;
        let want: String = ctx.get(2)?;
        let user_err = |e: serde_json::Error| rusqlite::Error::UserFunctionError(Box::new(e));
        let doc: Map<String, Value> = serde_json::from_str(&doc).map_err(user_err)?;
        let want: Value = serde_json::from_str(&want).map_err(user_err)?;
        Ok(doc.get(&key) == Some(&want))
    })?;
    Ok(())
}
