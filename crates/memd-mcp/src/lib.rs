//! memd over the Model Context Protocol: the memory tools (`add_memory`, `search_memories`, …)
//! served with the official Rust SDK (`rmcp`), over stdio (`memd mcp`) and Streamable HTTP
//! (`/mcp` on `memd serve`, see [`http`]).
//!
//! Owns only the protocol side: argument schemas an LLM can act on, turning results into text
//! for the model plus structured content (the REST API's JSON shapes), and mapping service
//! errors. Every tool calls the same [`MemoryService`] function as its REST twin, with the same
//! validation, tenancy and user scoping.
//!
//! Errors: a call the caller can fix (bad input, unknown id, a scope the key lacks) comes back
//! as a tool result with `isError: true` and the REST error code (`{"error": {"code",
//! "message"}}`), so the model sees it and can correct itself; a server that cannot serve
//! (internal, unavailable, unauthorized) answers with a JSON-RPC error whose code comes from
//! [`memd_core::ErrorCode::jsonrpc_code`].

mod context;
mod graph_tools;
pub mod http;
mod schema;
mod tools;
mod views;

use std::sync::{Arc, OnceLock};

use memd_core::{Caller, MemoryService, ServiceError, DEFAULT_USER};
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode as RpcCode, ErrorData,
    Extensions, Implementation, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{prompt_handler, tool_handler, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Value};

/// What the server tells a client about itself at `initialize`.
const INSTRUCTIONS: &str = "memd is a long-term memory. Store durable facts about the user and the work \
(preferences, decisions, names, dates) with add_memory, one fact per memory, in plain sentences. Before \
answering questions that may depend on earlier conversations, call search_memories with a natural-language \
query; results are ranked by meaning and keywords together. Use update_memory when a fact changes and \
delete_memory when it is no longer true. user_id defaults to the caller's own user.";

/// Who a session's tool calls act as.
#[derive(Clone)]
enum Identity {
    /// stdio: one caller for the whole process.
    Fixed(Caller),
    /// HTTP: each request's own, authenticated before it reached MCP (see [`http`]).
    PerRequest,
}

/// Bounds on tool calls, shared by every session of a process: a tool call runs while its
/// answer streams (after the HTTP layer's own bounds have let the request through), so it gets
/// the same limits itself — at most `limits.max_concurrency` at once (beyond: a JSON-RPC
/// "unavailable" error at once) and `limits.request_timeout_ms` each.
pub struct Bounds {
    permits: Arc<tokio::sync::Semaphore>,
    timeout: std::time::Duration,
}

impl Bounds {
    pub fn from_config(cfg: &memd_core::Config) -> Arc<Self> {
        Arc::new(Self {
            permits: Arc::new(tokio::sync::Semaphore::new(cfg.limits.max_concurrency)),
            timeout: std::time::Duration::from_millis(cfg.limits.request_timeout_ms),
        })
    }
}

/// Tool calls by tool and outcome, and their latency.
pub const TOOL_CALLS_TOTAL: &str = "memd_mcp_tool_calls_total";
pub const TOOL_CALL_SECONDS: &str = "memd_mcp_tool_call_duration_seconds";

/// One MCP session's server: the service and whom its tools act as.
#[derive(Clone)]
pub struct MemdMcp {
    service: MemoryService,
    identity: Identity,
    bounds: Arc<Bounds>,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

impl MemdMcp {
    /// A server whose tools all act as `caller` (stdio: the local caller, or the key in
    /// `MEMD_API_KEY`).
    pub fn new(service: MemoryService, caller: Caller) -> Self {
        let bounds = Bounds::from_config(&service.config());
        Self {
            bounds,
            service,
            identity: Identity::Fixed(caller),
            tool_router: Self::routes(),
            prompt_router: Self::prompt_router(),
        }
    }

    /// A server whose tools act as the [`Caller`] the HTTP layer put in each request's
    /// extensions.
    fn per_request(service: MemoryService, bounds: Arc<Bounds>) -> Self {
        Self {
            bounds,
            service,
            identity: Identity::PerRequest,
            tool_router: Self::routes(),
            prompt_router: Self::prompt_router(),
        }
    }

    /// Every tool: the memory tools and the knowledge-graph tools, their input schemas made
    /// portable ([`schema`]); built once, cloned per session.
    fn routes() -> ToolRouter<Self> {
        static ROUTES: OnceLock<ToolRouter<MemdMcp>> = OnceLock::new();
        ROUTES
            .get_or_init(|| {
                let mut router = Self::tool_router() + Self::graph_router();
                for route in router.map.values_mut() {
                    let mut input = (*route.attr.input_schema).clone();
                    schema::portable(&mut input);
                    route.attr.input_schema = Arc::new(input);
                }
                router
            })
            .clone()
    }

    /// The caller of the tool call with these extensions.
    fn caller(&self, ext: &Extensions) -> Result<Caller, ServiceError> {
        match &self.identity {
            Identity::Fixed(c) => Ok(c.clone()),
            Identity::PerRequest => ext
                .get::<::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Caller>())
                .cloned()
                .ok_or(ServiceError::Unauthorized),
        }
    }

    /// Serves MCP on this process's stdin/stdout until the client closes them. Nothing else may
    /// write to stdout: logs go to stderr.
    pub async fn serve_stdio(self) -> Result<(), std::io::Error> {
        let running = self.serve(rmcp::transport::stdio()).await.map_err(std::io::Error::other)?;
        running.waiting().await.map_err(std::io::Error::other)?;
        Ok(())
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for MemdMcp {
    /// Every tool call, bounded ([`Bounds`]) and measured by tool (unknown names as `unknown`).
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = if self.tool_router.has_route(&request.name) {
            request.name.to_string()
        } else {
            "unknown".into()
        };
        let unavailable = |m: &str| {
            ErrorData::new(RpcCode(memd_core::ErrorCode::Unavailable.jsonrpc_code()), m.to_owned(), None)
        };
        let Ok(_permit) = self.bounds.permits.clone().try_acquire_owned() else {
            metrics::counter!(TOOL_CALLS_TOTAL, "tool" => tool, "outcome" => "overloaded").increment(1);
            return Err(unavailable("server overloaded; retry shortly"));
        };
        let started = std::time::Instant::now();
        let call = self.tool_router.call(ToolCallContext::new(self, request, context));
        let result = tokio::time::timeout(self.bounds.timeout, call)
            .await
            .unwrap_or_else(|_| Err(unavailable("tool call timed out")));
        let outcome = match &result {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => "tool_error",
            Ok(_) => "ok",
            Err(_) => "error",
        };
        metrics::histogram!(TOOL_CALL_SECONDS, "tool" => tool.clone())
            .record(started.elapsed().as_secs_f64());
        metrics::counter!(TOOL_CALLS_TOTAL, "tool" => tool, "outcome" => outcome).increment(1);
        result
    }

    fn get_info(&self) -> ServerConfig {
        let capabilities =
            ServerCapabilities::builder().enable_tools().enable_resources().enable_prompts().build();
        let mut info = ServerConfig::new(capabilities).with_instructions(INSTRUCTIONS);
        info.server_info =
            Implementation::new("memd", env!("CARGO_PKG_VERSION")).with_title("memd memory server");
        info
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(context::resources())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(context::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.read(&request.uri, &context.extensions).await.map(Into::into)
    }
}

/// The user a tool acts for: the one asked for, else the caller's bound user, else
/// [`DEFAULT_USER`]. (A key bound to another user is refused by the service.)
fn user_of(caller: &Caller, requested: Option<String>) -> String {
    requested.or_else(|| caller.bound_user.clone()).unwrap_or_else(|| DEFAULT_USER.to_owned())
}

/// A successful tool result: `text` for the model, `structured` for programs.
fn ok(text: String, structured: Value) -> Result<CallToolResult, ErrorData> {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    Ok(result)
}

/// Maps a service error (see the crate docs for which become tool errors).
fn failed(e: ServiceError) -> Result<CallToolResult, ErrorData> {
    let code = e.code();
    let message = e.public_message();
    if matches!(e, ServiceError::Internal(_)) {
        tracing::error!(event = "mcp_tool_failed", error_type = code.name(), error = %e);
    }
    let body = json!({"error": {"code": code.name(), "message": message}});
    match e {
        ServiceError::Invalid { .. }
        | ServiceError::TooLarge(_)
        | ServiceError::Forbidden(_)
        | ServiceError::NotFound
        | ServiceError::Conflict(_) => {
            let mut result =
                CallToolResult::error(vec![ContentBlock::text(format!("error {}: {message}", code.name()))]);
            result.structured_content = Some(body);
            Ok(result)
        }
        ServiceError::Unauthorized | ServiceError::Unavailable(_) | ServiceError::Internal(_) => {
            Err(ErrorData::new(RpcCode(code.jsonrpc_code()), message, Some(body)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixable_errors_are_tool_results_with_the_rest_code() {
        for (e, code) in [
            (ServiceError::invalid("invalid_content", "content must not be empty"), "invalid_content"),
            (ServiceError::NotFound, "not_found"),
            (ServiceError::Forbidden("this key lacks the write scope".into()), "forbidden"),
        ] {
            let r = failed(e).expect("a tool result, not a protocol error");
            assert_eq!(r.is_error, Some(true));
            assert_eq!(r.structured_content.expect("structured")["error"]["code"], code);
        }
    }

    #[test]
    fn server_failures_are_json_rpc_errors_without_internal_detail() {
        let e = failed(ServiceError::Internal("disk I/O error at /secret/path".into()))
            .expect_err("protocol error");
        assert_eq!(e.code.0, -32603);
        assert_eq!(e.message, "internal error");
        let e = failed(ServiceError::Unavailable("draining".into())).expect_err("protocol error");
        assert_eq!(e.code.0, memd_core::ErrorCode::Unavailable.jsonrpc_code());
    }

    #[test]
    fn a_memory_is_shown_without_its_tenant() {
        let m = memd_store::Memory::sample(memd_store::TenantId::new("t").expect("tenant"), "u", "hello");
        let v = views::memory(&m);
        assert_eq!(v["content"], "hello");
        assert!(v.get("tenant").is_none(), "{v}");
        let (text, _) = views::stored(&m, "Stored");
        assert!(text.contains(&m.id.to_string()) && text.contains("hello"), "{text}");
    }
}
