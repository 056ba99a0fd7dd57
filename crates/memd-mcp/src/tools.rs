//! The memory tools: argument schemas (their doc comments are the descriptions a model reads)
//! and one handler per tool, each a call of the service function its REST route also calls.

use chrono::{DateTime, Utc};
use memd_core::{AddMemory, FilterParams, PromoteRequest, SearchMode, SearchRequest, ServiceError};
use memd_store::{MemoryPatch, TagMatch};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ErrorData, Extensions};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::{failed, ok, user_of, views, MemdMcp};

type ToolResult = Result<CallToolResult, ErrorData>;

/// Turns a service answer into a tool result through one of the `views` renderers.
fn answer<T>(r: Result<T, ServiceError>, render: impl FnOnce(&T) -> (String, Value)) -> ToolResult {
    match r {
        Ok(v) => {
            let (text, structured) = render(&v);
            ok(text, structured)
        }
        Err(e) => failed(e),
    }
}

fn memory_id(id: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(id.trim())
        .map_err(|_| ServiceError::invalid("invalid_id", format!("{id:?} is not a memory id (a UUID)")))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemoryArgs {
    /// The fact to remember, as a self-contained sentence ("Alice drinks an espresso every morning").
    pub content: String,
    /// Whose memory this is; defaults to the caller's own user.
    pub user_id: Option<String>,
    /// The agent that learned it, to tell agents apart.
    pub agent_id: Option<String>,
    /// The conversation or run it came from.
    pub session_id: Option<String>,
    /// Short labels to filter by later (at most 100).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Any JSON object to keep with the memory.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// When the remembered event happened (RFC 3339), if not now.
    pub event_time: Option<DateTime<Utc>>,
}

/// How to rank results.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModeArg {
    /// Meaning and keywords together (best in general).
    #[default]
    Hybrid,
    /// Meaning only: finds paraphrases that share no word with the query.
    Semantic,
    /// Exact words only: names, codes, rare terms.
    Keyword,
}

/// How several tags combine.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TagMatchArg {
    /// A memory with any of the tags matches.
    #[default]
    Any,
    /// A memory must have every tag.
    All,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// What to look for, in natural language ("what does Alice drink in the morning?").
    pub query: String,
    /// Whose memories to search; defaults to the caller's own user.
    pub user_id: Option<String>,
    /// How many results (default 10).
    pub top_k: Option<usize>,
    /// Only memories with these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether a memory needs any (default) or all of `tags`.
    #[serde(default)]
    pub tag_match: TagMatchArg,
    /// Only memories whose event happened at or after this time (RFC 3339).
    pub after: Option<DateTime<Utc>>,
    /// Only memories whose event happened before this time (RFC 3339).
    pub before: Option<DateTime<Utc>>,
    /// Ranking: hybrid (default), semantic or keyword.
    #[serde(default)]
    pub mode: ModeArg,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdArgs {
    /// The memory's id, as returned by add_memory or search_memories.
    pub id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Whose memories to list; defaults to the caller's own user.
    pub user_id: Option<String>,
    /// Only memories with any of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The `next_cursor` of the previous page, to continue.
    pub cursor: Option<String>,
    /// Page size (default 50).
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    /// The memory's id.
    pub id: String,
    /// The corrected fact, replacing the content.
    pub content: Option<String>,
    /// The new tags, replacing the old ones.
    pub tags: Option<Vec<String>>,
    /// The new metadata, replacing the old object.
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteArgs {
    /// Whose memories; defaults to the caller's own user.
    pub user_id: Option<String>,
    /// What the agent is about to do; memories are ranked by relevance to it.
    pub goal: Option<String>,
    /// Memories with any of these tags (widened with tags that often occur with them).
    #[serde(default)]
    pub tags: Vec<String>,
    /// How many memories (default 10).
    pub k: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// Whose tags; defaults to the caller's own user.
    pub user_id: Option<String>,
}

#[tool_router(router = tool_router, vis = "pub(crate)")]
impl MemdMcp {
    /// Remember a fact about the user or the work.
    #[tool(description = "Store one durable fact (a preference, decision, name, date…) as a memory. \
        Write it as a self-contained sentence. Returns the new memory with its id.")]
    async fn add_memory(&self, ext: Extensions, Parameters(a): Parameters<AddMemoryArgs>) -> ToolResult {
        let added = async {
            let caller = self.caller(&ext)?;
            let req = AddMemory {
                content: a.content,
                user_id: Some(user_of(&caller, a.user_id)),
                agent_id: a.agent_id,
                session_id: a.session_id,
                tags: a.tags,
                metadata: a.metadata,
                event_time: a.event_time,
                ..AddMemory::default()
            };
            self.service.add(&caller, req).await
        };
        answer(added.await, |m| views::stored(m, "Stored"))
    }

    #[tool(description = "Find memories relevant to a question or topic, best first. Hybrid ranking \
        matches meaning as well as words, so ask in plain language. Filter by tags or time if useful.")]
    async fn search_memories(&self, ext: Extensions, Parameters(a): Parameters<SearchArgs>) -> ToolResult {
        let found = async {
            let caller = self.caller(&ext)?;
            let req = SearchRequest {
                query: a.query,
                filter: FilterParams {
                    user_id: Some(user_of(&caller, a.user_id)),
                    tags: a.tags,
                    tag_match: match a.tag_match {
                        TagMatchArg::Any => TagMatch::Any,
                        TagMatchArg::All => TagMatch::All,
                    },
                    after: a.after,
                    before: a.before,
                    ..FilterParams::default()
                },
                top_k: a.top_k,
                mode: match a.mode {
                    ModeArg::Hybrid => SearchMode::Hybrid,
                    ModeArg::Semantic => SearchMode::Semantic,
                    ModeArg::Keyword => SearchMode::Keyword,
                },
                fusion: None,
            };
            self.service.search(&caller, req).await
        };
        answer(found.await, views::search)
    }

    #[tool(description = "Read one memory by id.")]
    async fn get_memory(&self, ext: Extensions, Parameters(a): Parameters<IdArgs>) -> ToolResult {
        let got = async { self.service.get(&self.caller(&ext)?, memory_id(&a.id)?).await };
        answer(got.await, |m| views::stored(m, "Found"))
    }

    #[tool(description = "List memories, newest first, a page at a time (pass next_cursor to continue).")]
    async fn list_memories(&self, ext: Extensions, Parameters(a): Parameters<ListArgs>) -> ToolResult {
        let listed = async {
            let caller = self.caller(&ext)?;
            let user_id = Some(user_of(&caller, a.user_id));
            let filter = FilterParams { user_id, tags: a.tags, ..FilterParams::default() };
            self.service.list(&caller, filter, a.cursor, a.limit).await
        };
        answer(listed.await, views::page)
    }

    #[tool(description = "Correct a memory: replace its content, tags or metadata. The old version \
        stays in memory_history.")]
    async fn update_memory(&self, ext: Extensions, Parameters(a): Parameters<UpdateArgs>) -> ToolResult {
        let patch =
            MemoryPatch { content: a.content, tags: a.tags, metadata: a.metadata, ..MemoryPatch::default() };
        let updated = async { self.service.update(&self.caller(&ext)?, memory_id(&a.id)?, patch).await };
        answer(updated.await, |m| views::stored(m, "Updated"))
    }

    #[tool(description = "Forget a memory that is no longer true.")]
    async fn delete_memory(&self, ext: Extensions, Parameters(a): Parameters<IdArgs>) -> ToolResult {
        let deleted = async {
            let id = memory_id(&a.id)?;
            self.service.delete(&self.caller(&ext)?, id).await.map(|()| id)
        };
        answer(deleted.await, |id| (format!("Deleted memory {id}."), json!({"deleted": true, "id": id})))
    }

    #[tool(description = "How a memory changed over time (added, updated, deleted), oldest first.")]
    async fn memory_history(&self, ext: Extensions, Parameters(a): Parameters<IdArgs>) -> ToolResult {
        let history = async {
            let id = memory_id(&a.id)?;
            self.service.history(&self.caller(&ext)?, id).await.map(|h| (id, h))
        };
        answer(history.await, |(id, h)| views::history(*id, h))
    }

    #[tool(description = "The memories an agent should carry into its context before a task: the \
        most relevant to the goal among those with the given tags.")]
    async fn promote(&self, ext: Extensions, Parameters(a): Parameters<PromoteArgs>) -> ToolResult {
        let promoted = async {
            let caller = self.caller(&ext)?;
            let req = PromoteRequest {
                user_id: Some(user_of(&caller, a.user_id)),
                goal: a.goal,
                tags: a.tags,
                k: a.k,
                expand_neighbours: true,
            };
            self.service.promote(&caller, req).await
        };
        answer(promoted.await, views::promoted)
    }

    #[tool(description = "The tags in use, most used first, with counts.")]
    async fn list_tags(&self, ext: Extensions, Parameters(a): Parameters<UserArgs>) -> ToolResult {
        let tags = async {
            let caller = self.caller(&ext)?;
            self.service.tags(&caller, Some(user_of(&caller, a.user_id)), 100, 5).await
        };
        answer(tags.await, |t| views::tags(t))
    }

    #[tool(description = "memd's version and state: embedding model, memories waiting to be embedded, \
        index sizes.")]
    async fn memd_status(&self, ext: Extensions) -> ToolResult {
        let caller = match self.caller(&ext) {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        let indexer = self.service.indexer();
        let status = json!({
            "version": env!("CARGO_PKG_VERSION"),
            "embedder": self.service.embedder().map(|e| e.model_id().to_owned()),
            "embed_pending": self.service.embed_pending(),
            "vectors": indexer.vector().len(),
            "lexical_docs": indexer.lexical().num_docs(),
            "tenant": caller.tenant.as_str(),
            "user_id": user_of(&caller, None),
        });
        ok(format!("memd status: {status}"), status)
    }
}
