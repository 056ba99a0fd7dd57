//! The nine knowledge-graph tools of the MCP reference memory server
//! (`@modelcontextprotocol/server-memory`), with its argument names, result shapes and text
//! (pretty-printed JSON), stored durably in memd. Differences, all additions: every tool takes an
//! optional `user_id` (one graph per user), `read_graph` is paged (`limit`, `cursor`,
//! `next_cursor`), and `search_nodes` also ranks by meaning (`mode: "hybrid"`).

use memd_core::graph::MAX_GRAPH_PAGE;
use memd_store::graph::{
    Entity, Graph, GraphRead, GraphWrite, GraphWritten, ObservationAdd, ObservationDelete, Relation,
};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ErrorData, Extensions};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{failed, ok, user_of, MemdMcp};

type ToolResult = Result<CallToolResult, ErrorData>;

/// Entities `read_graph` returns per page unless asked otherwise.
const DEFAULT_PAGE: usize = 100;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityArg {
    /// The name of the entity
    pub name: String,
    /// The type of the entity
    #[serde(rename = "entityType")]
    pub entity_type: String,
    /// An array of observation contents associated with the entity
    pub observations: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationArg {
    /// The name of the entity where the relation starts
    pub from: String,
    /// The name of the entity where the relation ends
    pub to: String,
    /// The type of the relation
    #[serde(rename = "relationType")]
    pub relation_type: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationAddArg {
    /// The name of the entity to add the observations to
    #[serde(rename = "entityName")]
    pub entity_name: String,
    /// An array of observation contents to add
    pub contents: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationDeleteArg {
    /// The name of the entity containing the observations
    #[serde(rename = "entityName")]
    pub entity_name: String,
    /// An array of observations to delete
    pub observations: Vec<String>,
}

/// Whose graph (defaults to the caller's own user).
type UserArg = Option<String>;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEntitiesArgs {
    pub entities: Vec<EntityArg>,
    /// Whose graph; defaults to the caller's own user.
    pub user_id: UserArg,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationsArgs {
    pub relations: Vec<RelationArg>,
    /// Whose graph; defaults to the caller's own user.
    pub user_id: UserArg,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddObservationsArgs {
    pub observations: Vec<ObservationAddArg>,
    /// Whose graph; defaults to the caller's own user.
    pub user_id: UserArg,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteEntitiesArgs {
    /// An array of entity names to delete
    #[serde(rename = "entityNames")]
    pub entity_names: Vec<String>,
    /// Whose graph; defaults to the caller's own user.
    pub user_id: UserArg,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteObservationsArgs {
    pub deletions: Vec<ObservationDeleteArg>,
    /// Whose graph; defaults to the caller's own user.
    pub user_id: UserArg,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadGraphArgs {
    /// Entities per page (default 100, at most 1000).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page, to continue.
    pub cursor: Option<String>,
    /// Whose graph; defaults to the caller's own user.
    pub user_id: UserArg,
}

/// How `search_nodes` matches.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeSearchMode {
    /// Entities whose name, type or an observation contains the query (case-insensitive), in
    /// graph order, as the reference memory server does.
    #[default]
    Substring,
    /// Entities whose observations match the query by meaning and keywords, best first.
    Hybrid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchNodesArgs {
    /// The search query to match against entity names, types, and observation content
    pub query: String,
    /// `substring` (default) or `hybrid` (by meaning: use it for natural-language questions).
    #[serde(default)]
    pub mode: NodeSearchMode,
    /// Entities at most (default 100).
    pub limit: Option<usize>,
    /// Whose graph; defaults to the caller's own user.
    pub user_id: UserArg,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenNodesArgs {
    /// An array of entity names to retrieve
    pub names: Vec<String>,
    /// Whose graph; defaults to the caller's own user.
    pub user_id: UserArg,
}

impl From<EntityArg> for Entity {
    fn from(e: EntityArg) -> Self {
        Entity { name: e.name, entity_type: e.entity_type, observations: e.observations }
    }
}

impl From<RelationArg> for Relation {
    fn from(r: RelationArg) -> Self {
        Relation { from: r.from, to: r.to, relation_type: r.relation_type }
    }
}

fn relations(v: Vec<RelationArg>) -> Vec<Relation> {
    v.into_iter().map(Relation::from).collect()
}

/// The reference server's result: its text is the pretty-printed JSON of `text_of`.
fn json_result(text_of: &impl Serialize, structured: Value) -> ToolResult {
    ok(serde_json::to_string_pretty(text_of).unwrap_or_default(), structured)
}

fn written(w: GraphWritten, deleted_message: &str) -> ToolResult {
    match w {
        GraphWritten::Entities(v) => json_result(&v, json!({ "entities": v })),
        GraphWritten::Relations(v) => json_result(&v, json!({ "relations": v })),
        GraphWritten::Observations(v) => json_result(&v, json!({ "results": v })),
        GraphWritten::Deleted => {
            ok(deleted_message.to_owned(), json!({"success": true, "message": deleted_message}))
        }
    }
}

/// A graph as the reference server shows it, plus `next_cursor` (a string, like every memd
/// cursor) when `read_graph` has more pages.
#[derive(Serialize)]
struct GraphView {
    entities: Vec<Entity>,
    relations: Vec<Relation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The JSON text and structured content of a graph answer.
pub(crate) fn graph_json(g: Graph) -> (String, Value) {
    let next_cursor = g.next_cursor.map(|c| c.to_string());
    let view = GraphView { entities: g.entities, relations: g.relations, next_cursor };
    (
        serde_json::to_string_pretty(&view).unwrap_or_default(),
        serde_json::to_value(&view).unwrap_or(Value::Null),
    )
}

fn graph(g: Graph) -> ToolResult {
    let (text, structured) = graph_json(g);
    ok(text, structured)
}

impl MemdMcp {
    async fn write_graph(
        &self,
        ext: &Extensions,
        user: UserArg,
        op: GraphWrite,
        deleted: &str,
    ) -> ToolResult {
        let done = async {
            let caller = self.caller(ext)?;
            self.service.graph_write(&caller, Some(user_of(&caller, user)), op).await
        };
        match done.await {
            Ok(w) => written(w, deleted),
            Err(e) => failed(e),
        }
    }

    async fn read_nodes(&self, ext: &Extensions, user: UserArg, q: GraphRead) -> ToolResult {
        let read = async {
            let caller = self.caller(ext)?;
            self.service.graph_read(&caller, Some(user_of(&caller, user)), q).await
        };
        read.await.map_or_else(failed, graph)
    }
}

#[tool_router(router = graph_router, vis = "pub(crate)")]
impl MemdMcp {
    #[tool(
        description = "Create multiple new entities in the knowledge graph",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn create_entities(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<CreateEntitiesArgs>,
    ) -> ToolResult {
        let op = GraphWrite::CreateEntities(a.entities.into_iter().map(Entity::from).collect());
        self.write_graph(&ext, a.user_id, op, "").await
    }

    #[tool(
        description = "Create multiple new relations between entities in the knowledge graph. Relations should be in active voice",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn create_relations(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<RelationsArgs>,
    ) -> ToolResult {
        self.write_graph(&ext, a.user_id, GraphWrite::CreateRelations(relations(a.relations)), "").await
    }

    #[tool(
        description = "Add new observations to existing entities in the knowledge graph",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn add_observations(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<AddObservationsArgs>,
    ) -> ToolResult {
        let adds = a
            .observations
            .into_iter()
            .map(|o| ObservationAdd { entity_name: o.entity_name, contents: o.contents })
            .collect();
        self.write_graph(&ext, a.user_id, GraphWrite::AddObservations(adds), "").await
    }

    #[tool(
        description = "Delete multiple entities and their associated relations from the knowledge graph",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn delete_entities(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<DeleteEntitiesArgs>,
    ) -> ToolResult {
        let op = GraphWrite::DeleteEntities(a.entity_names);
        self.write_graph(&ext, a.user_id, op, "Entities deleted successfully").await
    }

    #[tool(
        description = "Delete specific observations from entities in the knowledge graph",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn delete_observations(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<DeleteObservationsArgs>,
    ) -> ToolResult {
        let dels = a
            .deletions
            .into_iter()
            .map(|d| ObservationDelete { entity_name: d.entity_name, observations: d.observations })
            .collect();
        self.write_graph(
            &ext,
            a.user_id,
            GraphWrite::DeleteObservations(dels),
            "Observations deleted successfully",
        )
        .await
    }

    #[tool(
        description = "Delete multiple relations from the knowledge graph",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn delete_relations(
        &self,
        ext: Extensions,
        Parameters(a): Parameters<RelationsArgs>,
    ) -> ToolResult {
        let op = GraphWrite::DeleteRelations(relations(a.relations));
        self.write_graph(&ext, a.user_id, op, "Relations deleted successfully").await
    }

    #[tool(
        description = "Read the knowledge graph, a page of entities at a time (default 100) with their \
            relations; pass next_cursor to continue.",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn read_graph(&self, ext: Extensions, Parameters(a): Parameters<ReadGraphArgs>) -> ToolResult {
        let cursor = match a.cursor.as_deref().map(str::parse::<i64>).transpose() {
            Ok(c) => c,
            Err(_) => {
                return failed(memd_core::ServiceError::invalid(
                    "invalid_cursor",
                    "cursor is not a next_cursor",
                ))
            }
        };
        let limit = a.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_GRAPH_PAGE);
        self.read_nodes(&ext, a.user_id, GraphRead::Page { cursor, limit }).await
    }

    #[tool(
        description = "Search for nodes in the knowledge graph based on a query. mode \"substring\" \
            (default) matches names, types and observation text; \"hybrid\" ranks by meaning, for questions.",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn search_nodes(&self, ext: Extensions, Parameters(a): Parameters<SearchNodesArgs>) -> ToolResult {
        let limit = a.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_GRAPH_PAGE);
        match a.mode {
            NodeSearchMode::Substring => {
                self.read_nodes(&ext, a.user_id, GraphRead::Containing { query: a.query, limit }).await
            }
            NodeSearchMode::Hybrid => {
                let found = async {
                    let caller = self.caller(&ext)?;
                    let user = Some(user_of(&caller, a.user_id));
                    self.service.graph_search(&caller, user, a.query, limit).await
                };
                found.await.map_or_else(failed, graph)
            }
        }
    }

    #[tool(
        description = "Open specific nodes in the knowledge graph by their names",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn open_nodes(&self, ext: Extensions, Parameters(a): Parameters<OpenNodesArgs>) -> ToolResult {
        self.read_nodes(&ext, a.user_id, GraphRead::Names(a.names)).await
    }
}
