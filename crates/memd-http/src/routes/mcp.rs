//! `/mcp`: MCP over Streamable HTTP. The request is authenticated here exactly like a REST
//! request (same keys, same local mode, same error shape), the caller is handed to the MCP
//! tools in the request's extensions, and rmcp's transport does the rest (sessions, SSE,
//! `Host`/`Origin` checks).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use memd_core::ServiceError;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::extract::Auth;
use crate::state::AppState;

const SESSION_HEADER: &str = "mcp-session-id";
/// The first protocol version without sessions (dates compare as strings).
const STATELESS_SINCE: &str = "2026-07-28";
pub const MCP_SESSIONS: &str = "memd_mcp_sessions";

/// Mounted only when `mcp.http` is on (see [`crate::router`]).
pub async fn endpoint(Auth(caller): Auth, State(state): State<AppState>, mut req: Request) -> Response {
    let Some(mcp) = state.mcp.clone() else {
        return ApiError(ServiceError::NotFound).into_response();
    };
    // Protocol 2026-07-28 and later run without sessions: such a request opens none.
    let stateless = req
        .headers()
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v >= STATELESS_SINCE);
    let opens_session =
        req.method() == axum::http::Method::POST && !req.headers().contains_key(SESSION_HEADER) && !stateless;
    let admitted = match opens_session {
        true => match mcp.admit_session().await {
            Some(opening) => Some(opening),
            // 503 with Retry-After, like every `unavailable` answer.
            None => {
                let why = "too many open MCP sessions; retry shortly";
                return ApiError(ServiceError::Unavailable(why.into())).into_response();
            }
        },
        false => None,
    };
    let closes_session = req.method() == axum::http::Method::DELETE;
    req.extensions_mut().insert(caller);
    let mut resp = match mcp.service.clone().oneshot(req).await {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    };
    drop(admitted);
    if closes_session && resp.status() == StatusCode::ACCEPTED {
        // rmcp says 202 for a closed session; the official SDKs' servers say 200, and the
        // Python client logs a failure for anything but 200/204.
        *resp.status_mut() = StatusCode::OK;
    }
    resp
}
