//! Configuration reload for a running server — on SIGHUP or `POST /api/config/reload`: read and
//! validate the configuration again (file < environment < flags, as at start), apply what can
//! change without a restart ([`memd_core::reload`]), re-read the alert rules and the log filter
//! when they changed, and record a `config_reloaded` event naming what was applied and what
//! waits for a restart. An invalid configuration changes nothing and records
//! `config_reload_failed`.

use memd_core::{ReloadReport, ServiceError};
use memd_store::events::Severity;
use serde_json::json;

use crate::state::AppState;

/// Where a reload reads the configuration from, and the one setting only the binary can apply.
pub trait ConfigSource: Send + Sync {
    /// Loads and validates the configuration the way start-up did. Blocking (reads a file).
    fn load(&self) -> Result<memd_core::Config, String>;
    /// Installs a new log filter (`log_level`).
    fn set_log_level(&self, level: &str) -> Result<(), String>;
}

/// Reloads the configuration; the report names the settings applied and those needing a restart.
pub async fn reload(state: &AppState) -> Result<ReloadReport, ServiceError> {
    let Some(source) = state.config_source.clone() else {
        return Err(ServiceError::Unavailable("this process cannot reload its configuration".into()));
    };
    // One reload at a time (SIGHUP and the route may overlap): the file read last is applied last.
    let _one_at_a_time = state.reloading.lock().await;
    let loaded = tokio::task::spawn_blocking({
        let source = source.clone();
        move || source.load()
    })
    .await?;
    let new = match loaded {
        Ok(cfg) => cfg,
        Err(why) => return Err(failed(state, why).await),
    };
    let mut report = match state.service.reconfigure(new) {
        Ok(report) => report,
        Err(ServiceError::Invalid { message, .. }) => return Err(failed(state, message).await),
        Err(e) => return Err(e),
    };
    if report.applied_under("log_level") {
        if let Err(why) = source.set_log_level(&state.service.config().log_level) {
            report.problems.push(format!("log_level: {why}"));
        }
    }
    // The rule file is re-read on every reload (it may have changed under the same name).
    match &state.alerts {
        Some(_) => {
            if let Err(why) = crate::alerting::reload_rules(state).await {
                report.problems.push(format!("alert rules: {why} (the previous rules stay in force)"));
            }
        }
        None if report.applied_under("alerts.") => {
            report.problems.push("alerts: the alert engine is off; a restart starts it".to_owned());
        }
        None => {}
    }
    record(state, &report).await;
    Ok(report)
}

async fn record(state: &AppState, report: &ReloadReport) {
    tracing::info!(
        event = "config_reloaded",
        applied = ?report.applied,
        restart_required = ?report.restart_required,
        problems = ?report.problems,
    );
    let severity = if report.problems.is_empty() && report.restart_required.is_empty() {
        Severity::Info
    } else {
        Severity::Warning
    };
    let details = serde_json::to_value(report).unwrap_or_default();
    state.service.record_event("config_reloaded", severity, details).await;
}

async fn failed(state: &AppState, why: String) -> ServiceError {
    tracing::error!(event = "config_reload_failed", error_type = "invalid_config", error = %why);
    let details = json!({"error": why, "effect": "nothing changed"});
    state.service.record_event("config_reload_failed", Severity::Error, details).await;
    ServiceError::invalid("invalid_config", why)
}
