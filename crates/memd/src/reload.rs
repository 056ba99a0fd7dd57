//! Configuration reload for `memd serve`: SIGHUP (or `POST /api/config/reload`) reads the
//! configuration again exactly as start-up did — the same `--config` file, the process's `MEMD_*`
//! environment, the same flags — and applies what can change while running
//! ([`memd_http::reload`]).

use memd_http::reload::ConfigSource;
use memd_http::AppState;

use crate::cli::Global;
use crate::serve::LogReload;

/// The configuration as the command line and environment describe it.
pub struct FileConfigSource {
    global: Global,
    log: LogReload,
}

impl FileConfigSource {
    pub fn new(global: Global, log: LogReload) -> Self {
        FileConfigSource { global, log }
    }
}

impl ConfigSource for FileConfigSource {
    fn load(&self) -> Result<memd_core::Config, String> {
        self.global.load().map_err(|e| format!("{e:#}"))
    }

    fn set_log_level(&self, level: &str) -> Result<(), String> {
        (self.log)(level)
    }
}

/// Reloads the configuration on every SIGHUP, from a task that runs until aborted. The handler
/// is installed before this returns, so a SIGHUP sent once the server answers never finds the
/// default action (terminate) in place.
pub fn on_sighup(state: AppState) -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let hup = signal(SignalKind::hangup());
    tokio::spawn(async move {
        let mut hup = match hup {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(event = "sighup_unavailable", error_type = "signal", error = %e);
                return;
            }
        };
        while hup.recv().await.is_some() {
            tracing::info!(event = "config_reload_requested", source = "SIGHUP");
            // Outcomes (applied, needing a restart, invalid) are logged and recorded as events.
            let _ = memd_http::reload::reload(&state).await;
        }
    })
}
