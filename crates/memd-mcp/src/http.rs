//! MCP over Streamable HTTP: the tower service `memd serve` mounts at `/mcp`.
//!
//! rmcp's [`StreamableHttpService`] implements the transport: sessions (`Mcp-Session-Id`,
//! created at `initialize`, closed by `DELETE` or after [`McpConfig::session_idle_secs`] idle),
//! SSE streams, and the `Host`/`Origin` checks against DNS rebinding (from
//! [`McpConfig::allowed_hosts`] / [`McpConfig::allowed_origins`]). Requests negotiating protocol
//! 2026-07-28 or later are served without a session, as that version specifies.
//!
//! Authentication is the HTTP layer's job, exactly as for REST: it authenticates each request
//! and puts the [`Caller`](memd_core::Caller) in the request's extensions, where the tools find
//! it. A session therefore never outlives its key, and a session id alone grants nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use memd_core::config::McpConfig;
use memd_core::MemoryService;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::MemdMcp;

/// The `/mcp` service and a handle on its sessions (for the session limit and metrics).
pub struct McpHttp {
    pub service: StreamableHttpService<MemdMcp, LocalSessionManager>,
    sessions: Arc<LocalSessionManager>,
    max_sessions: usize,
    /// Session-opening requests admitted and not yet answered; admission counts them with the
    /// open sessions so concurrent `initialize` requests cannot overshoot the limit.
    opening: Arc<AtomicUsize>,
    /// Serializes admissions (a count check; not the handshake that follows).
    admitting: tokio::sync::Mutex<()>,
}

/// An admitted session-opening request; drop it once the request has been served (its session,
/// if one was made, then counts among the open ones).
pub struct Opening(Arc<AtomicUsize>);

impl Drop for Opening {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl McpHttp {
    /// Builds the service; cancelling `shutdown` ends every open session and SSE stream (so a
    /// graceful shutdown does not wait on clients that keep a stream open).
    pub fn new(
        service: MemoryService,
        cfg: &McpConfig,
        max_body_bytes: usize,
        shutdown: CancellationToken,
    ) -> Self {
        let mut session = SessionConfig::default();
        session.keep_alive = Some(Duration::from_secs(cfg.session_idle_secs));
        let mut manager = LocalSessionManager::default();
        manager.session_config = session;
        let sessions = Arc::new(manager);
        let config = StreamableHttpServerConfig::default()
            .with_allowed_hosts(cfg.allowed_hosts.clone())
            .with_allowed_origins(cfg.allowed_origins.clone())
            .enforce_origin_validation()
            .with_max_request_body_bytes(max_body_bytes)
            .with_cancellation_token(shutdown);
        let bounds = crate::Bounds::from_config(&service.config());
        let http = StreamableHttpService::new(
            move || Ok(MemdMcp::per_request(service.clone(), bounds.clone())),
            sessions.clone(),
            config,
        );
        Self {
            service: http,
            sessions,
            max_sessions: cfg.max_sessions,
            opening: Default::default(),
            admitting: Default::default(),
        }
    }

    /// Sessions open now.
    pub async fn open_sessions(&self) -> usize {
        self.sessions.sessions.read().await.len()
    }

    /// Admission of a request that opens a session: `None` when the open sessions and the
    /// openings in progress reach the limit.
    pub async fn admit_session(&self) -> Option<Opening> {
        let _one_at_a_time = self.admitting.lock().await;
        // Openings first: one that finishes meanwhile has made its session before it stops
        // counting, so it is counted at least once (a refusal errs on the safe side).
        let opening = self.opening.load(Ordering::SeqCst);
        if self.open_sessions().await + opening >= self.max_sessions {
            return None;
        }
        self.opening.fetch_add(1, Ordering::SeqCst);
        Some(Opening(self.opening.clone()))
    }
}
