//! The knowledge graph (entities with observations, and directed typed relations between entity
//! names), one graph per tenant and user, with the semantics of the MCP reference memory server
//! (`@modelcontextprotocol/server-memory`): entities are unique by name, relations by
//! `(from, to, relationType)`, deleting an entity deletes the relations touching it, and
//! everything comes back in insertion order. Field names are that server's (camelCase), so its
//! JSON and JSONL files deserialize as they are.
//!
//! Each observation is also kept as a memory of the graph's user (tag [`GRAPH_TAG`], content
//! `"{name} ({entityType}): {observation}"`, metadata `{"kg_entity": name}`), written in the same
//! transaction, so the graph is searchable by meaning and keywords like any memory.

use serde::{Deserialize, Serialize};

/// The tag of the memories that mirror observations.
pub const GRAPH_TAG: &str = "kg";
/// The metadata key naming the entity a mirror memory belongs to.
pub const GRAPH_ENTITY_KEY: &str = "kg_entity";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    pub name: String,
    #[serde(rename = "entityType")]
    pub entity_type: String,
    #[serde(default)]
    pub observations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    pub from: String,
    pub to: String,
    #[serde(rename = "relationType")]
    pub relation_type: String,
}

/// Observations to add to one entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservationAdd {
    #[serde(rename = "entityName")]
    pub entity_name: String,
    pub contents: Vec<String>,
}

/// Observations to remove from one entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservationDelete {
    #[serde(rename = "entityName")]
    pub entity_name: String,
    pub observations: Vec<String>,
}

/// What `AddObservations` added to one entity (observations it already had are left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedObservations {
    #[serde(rename = "entityName")]
    pub entity_name: String,
    #[serde(rename = "addedObservations")]
    pub added_observations: Vec<String>,
}

/// One change to a graph, applied in one transaction (all or nothing).
#[derive(Clone, Debug, PartialEq)]
pub enum GraphWrite {
    /// Adds the entities whose name is new (also new within the call: the first one wins).
    CreateEntities(Vec<Entity>),
    /// Adds the relations whose triple is new. Endpoints need not exist (as in the reference).
    CreateRelations(Vec<Relation>),
    /// Adds the new observations; an unknown entity fails the whole call.
    AddObservations(Vec<ObservationAdd>),
    /// Removes the entities and every relation from or to them; unknown names are ignored.
    DeleteEntities(Vec<String>),
    /// Removes those observations; unknown entities and observations are ignored.
    DeleteObservations(Vec<ObservationDelete>),
    /// Removes those relations; unknown ones are ignored.
    DeleteRelations(Vec<Relation>),
}

/// The result of a [`GraphWrite`], by variant.
#[derive(Clone, Debug, PartialEq)]
pub enum GraphWritten {
    /// The entities actually created.
    Entities(Vec<Entity>),
    /// The relations actually created.
    Relations(Vec<Relation>),
    /// Per entity, the observations actually added.
    Observations(Vec<AddedObservations>),
    /// A deletion was applied.
    Deleted,
}

/// A read of part of a graph.
#[derive(Clone, Debug, PartialEq)]
pub enum GraphRead {
    /// Entities in insertion order after `cursor`, at most `limit`. When the whole graph fits
    /// in the page, every relation comes with it; otherwise each relation comes exactly once:
    /// with its `from` entity, else (`from` is no entity) with its `to` entity, else (touching no
    /// entity) on the last page.
    Page { cursor: Option<i64>, limit: usize },
    /// The named entities and the relations touching them (at least one endpoint).
    Names(Vec<String>),
    /// Entities whose name, type or an observation contains `query` (case-insensitive), at most
    /// `limit`, with the relations touching them.
    Containing { query: String, limit: usize },
}

/// Part of a graph.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub entities: Vec<Entity>,
    pub relations: Vec<Relation>,
    /// For [`GraphRead::Page`]: the cursor of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<i64>,
}

/// The content of the memory mirroring one observation.
pub fn observation_text(entity: &str, entity_type: &str, observation: &str) -> String {
    format!("{entity} ({entity_type}): {observation}")
}

/// Case-insensitive containment as the reference server does it (`toLowerCase().includes`).
pub fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    haystack.to_lowercase().contains(needle_lower)
}
