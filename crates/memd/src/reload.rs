//! Configuration reload for `memd serve`: SIGHUP (or `POST /api/config/reload`) reads the
//! configuration again exactly as start-up did — the same `--config` file, the process's `MEMD_*`
//! environment, the same flags — and applies what can change while running
//! ([`memd_http::reload`]).

use memd_http::reload::ConfigSource;
use memd_http::AppState;
use tokio::signal::unix::{signal, Signal, SignalKind};

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
        // Validated as at start, the log filter included: a bad one fails the whole reload.
        self.global.load().map_err(|e| format!("{e:#}"))
    }

    fn set_log_level(&self, level: &str) -> Result<(), String> {
        (self.log)(level)
    }
}

/// Takes over SIGHUP: from now on it no longer terminates the process (its default action).
/// Call at the very start of `serve`, before the slow start-up; a SIGHUP arriving before the
/// server runs is kept and served by [`on_sighup`] then.
pub fn catch_sighup() -> std::io::Result<Signal> {
    signal(SignalKind::hangup())
}

/// Reloads the configuration on every SIGHUP, from a task that runs until aborted.
pub fn on_sighup(state: AppState, hup: std::io::Result<Signal>) -> tokio::task::JoinHandle<()> {
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
