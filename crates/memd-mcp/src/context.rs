//! Resources and prompts: what a client can pull into the model's context without a tool call.
//!
//! Resources (text, one line per memory, id first):
//! - `memd://memories/recent`: the newest memories of the caller's own user;
//! - `memd://users/{user_id}/memories/recent` (template): the same for another user the caller
//!   may read;
//! - `memd://graph`: the first page of the caller's knowledge graph (JSON, as `read_graph`).
//!
//! Prompts: `remember` (store the durable facts of a conversation) and `recall` (search memory
//! before answering about a topic).

use memd_core::{Caller, FilterParams, ServiceError};
use memd_store::graph::GraphRead;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    ContentBlock, ErrorData, Extensions, ListResourceTemplatesResult, ListResourcesResult, PromptMessage,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role,
};
use rmcp::{prompt, prompt_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::graph_tools::graph_json;
use crate::{user_of, views, MemdMcp};

/// Memories a "recent" resource shows.
const RECENT: usize = 20;
const RECENT_URI: &str = "memd://memories/recent";
const USER_RECENT_TEMPLATE: &str = "memd://users/{user_id}/memories/recent";
const GRAPH_URI: &str = "memd://graph";
/// Entities the graph resource shows (the first page of `read_graph`).
const GRAPH_PAGE: usize = 100;

pub(crate) fn resources() -> ListResourcesResult {
    ListResourcesResult::with_all_items(vec![
        Resource::new(RECENT_URI, "recent-memories")
            .with_title("Recent memories")
            .with_description(format!("The {RECENT} newest memories of your user, one per line, id first."))
            .with_mime_type("text/plain"),
        Resource::new(GRAPH_URI, "knowledge-graph")
            .with_title("Knowledge graph")
            .with_description(format!(
                "The first {GRAPH_PAGE} entities of your knowledge graph with their relations (JSON)."
            ))
            .with_mime_type("application/json"),
    ])
}

pub(crate) fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![ResourceTemplate::new(
        USER_RECENT_TEMPLATE,
        "user-recent-memories",
    )
    .with_title("Recent memories of a user")
    .with_description(format!("The {RECENT} newest memories of one user."))
    .with_mime_type("text/plain")])
}

/// What a resource URI names.
#[derive(Debug, PartialEq)]
enum Target {
    Recent(Option<String>),
    Graph,
}

fn parse(uri: &str) -> Option<Target> {
    if uri == RECENT_URI {
        return Some(Target::Recent(None));
    }
    if uri == GRAPH_URI {
        return Some(Target::Graph);
    }
    let user = uri.strip_prefix("memd://users/")?.strip_suffix("/memories/recent")?;
    (!user.is_empty() && !user.contains('/')).then(|| Target::Recent(Some(user.to_owned())))
}

impl MemdMcp {
    pub(crate) async fn read(&self, uri: &str, ext: &Extensions) -> Result<ReadResourceResult, ErrorData> {
        let target =
            parse(uri).ok_or_else(|| ErrorData::resource_not_found(format!("no resource {uri}"), None))?;
        let caller = self.caller(ext).map_err(rpc_error)?;
        let contents = match target {
            Target::Recent(user) => {
                self.recent(&caller, user).await.map(|text| ResourceContents::text(text, uri))
            }
            Target::Graph => {
                let q = GraphRead::Page { cursor: None, limit: GRAPH_PAGE };
                let graph = self.service.graph_read(&caller, Some(user_of(&caller, None)), q).await;
                graph.map(|g| ResourceContents::text(graph_json(g).0, uri).with_mime_type("application/json"))
            }
        };
        Ok(ReadResourceResult::new(vec![contents.map_err(rpc_error)?]))
    }

    async fn recent(&self, caller: &Caller, user: Option<String>) -> Result<String, ServiceError> {
        let filter = FilterParams { user_id: Some(user_of(caller, user)), ..FilterParams::default() };
        let page = self.service.list(caller, filter, None, Some(RECENT)).await?;
        Ok(views::page(&page).0)
    }
}

/// Resource reads have no tool-result channel: every failure is a JSON-RPC error with the
/// REST code in its data.
fn rpc_error(e: ServiceError) -> ErrorData {
    let code = e.code();
    let data = serde_json::json!({"code": code.name()});
    ErrorData::new(rmcp::model::ErrorCode(code.jsonrpc_code()), e.public_message(), Some(data))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RememberArgs {
    /// The conversation or notes to learn from.
    pub conversation: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecallArgs {
    /// What the next answer is about.
    pub topic: String,
}

fn user_message(text: String) -> Vec<PromptMessage> {
    vec![PromptMessage::new(Role::User, ContentBlock::text(text))]
}

#[prompt_router(vis = "pub(crate)")]
impl MemdMcp {
    #[prompt(description = "Store the durable facts of a conversation in memory.")]
    async fn remember(&self, Parameters(a): Parameters<RememberArgs>) -> Vec<PromptMessage> {
        user_message(format!(
            "Read the conversation below and store what will still matter later: preferences, \
             decisions, names, relationships, dates and plans of the user. For each fact call \
             add_memory once, as one self-contained sentence naming who it is about (\"Alice is \
             vegetarian\", not \"she doesn't eat meat\"), with event_time when the conversation \
             dates it. First call search_memories for each fact: when memory already says it, skip \
             it; when memory says something it contradicts, call update_memory on that memory \
             instead. Do not store small talk or anything only true for this moment.\n\n\
             Conversation:\n{}",
            a.conversation
        ))
    }

    #[prompt(description = "Look up what memory knows about a topic before answering.")]
    async fn recall(&self, Parameters(a): Parameters<RecallArgs>) -> Vec<PromptMessage> {
        user_message(format!(
            "Before you answer about \"{}\", call search_memories with a natural-language question \
             about it (and, if the results mention people or things by name, search for those too). \
             Use what the memories say, prefer the most recent when they disagree, and say so when \
             memory has nothing on it rather than guessing.",
            a.topic
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_parse() {
        assert_eq!(parse(RECENT_URI), Some(Target::Recent(None)));
        assert_eq!(parse("memd://users/alice/memories/recent"), Some(Target::Recent(Some("alice".into()))));
        assert_eq!(parse(GRAPH_URI), Some(Target::Graph));
        for bad in ["memd://users//memories/recent", "memd://users/a/b/memories/recent", "memd://nope", ""] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
