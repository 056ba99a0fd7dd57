//! Shared state of the HTTP transport.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use memd_core::MemoryService;
use memd_mcp::http::McpHttp;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

/// Life-cycle phase, for `/health/ready`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Starting = 0,
    Ready = 1,
    Draining = 2,
}

#[derive(Clone)]
pub struct AppState {
    pub service: MemoryService,
    pub metrics: PrometheusHandle,
    /// MCP over Streamable HTTP at `/mcp` (`None` when `mcp.http` is off).
    pub mcp: Option<Arc<McpHttp>>,
    /// Cancelled when draining starts: ends MCP sessions and their open SSE streams.
    pub shutdown: CancellationToken,
    /// The built-in alert engine (`None` when `alerts.enabled` is off or its rules failed to
    /// load: the reason is in `alerts_error`).
    pub alerts: Option<crate::alerting::SharedAlerting>,
    pub alerts_error: Option<String>,
    /// Whether the data directory takes writes (for the health components).
    pub(crate) data_dir: Arc<crate::datadir::DataDirProbe>,
    /// What a configuration reload reads (`None`: this process cannot reload, e.g. in tests).
    pub config_source: Option<Arc<dyn crate::reload::ConfigSource>>,
    /// Held by a configuration reload from reading to applying.
    pub(crate) reloading: Arc<tokio::sync::Mutex<()>>,
    phase: Arc<AtomicU8>,
}

impl AppState {
    pub fn new(service: MemoryService, metrics: PrometheusHandle) -> Self {
        let shutdown = CancellationToken::new();
        let cfg = service.config();
        let mcp = cfg.mcp.http.then(|| {
            let max_body = cfg.limits.max_body_bytes;
            Arc::new(McpHttp::new(service.clone(), &cfg.mcp, max_body, shutdown.child_token()))
        });
        let wanted = cfg.alerts.enabled && cfg.observe.metrics;
        let (alerts, alerts_error) = match wanted.then(|| crate::alerting::engine(&cfg.alerts)) {
            Some(Ok(e)) => (Some(e), None),
            Some(Err(why)) => {
                tracing::error!(event = "alert_rules_invalid", error_type = "invalid_rules", error = %why);
                (None, Some(why))
            }
            None if cfg.alerts.enabled => {
                (None, Some("observe.metrics is off: the alert engine would see no metrics".to_owned()))
            }
            None => (None, None),
        };
        let data_dir = Arc::new(crate::datadir::DataDirProbe::new(&cfg.data_dir));
        AppState {
            service,
            metrics,
            mcp,
            shutdown,
            alerts,
            alerts_error,
            data_dir,
            config_source: None,
            reloading: Default::default(),
            phase: Arc::new(AtomicU8::new(Phase::Starting as u8)),
        }
    }

    /// Lets the server reload its configuration from `source` (SIGHUP, `POST /api/config/reload`).
    pub fn with_config_source(mut self, source: Arc<dyn crate::reload::ConfigSource>) -> Self {
        self.config_source = Some(source);
        self
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            0 => Phase::Starting,
            1 => Phase::Ready,
            _ => Phase::Draining,
        }
    }

    pub fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::SeqCst);
    }
}
