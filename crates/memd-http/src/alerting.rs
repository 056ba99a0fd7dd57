//! The built-in alert engine at work: every `alerts.eval_interval_ms` it samples this server's
//! metrics (the `/metrics` text), evaluates the rules (memd-alerts) and records each firing and
//! resolution as an event. Rules come from `alerts.rules_file` or the shipped set and reload
//! without a restart (`POST /api/alerts/reload`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use memd_alerts::{Engine, Rule, Transition};
use memd_core::config::AlertsConfig;
use memd_store::events::Severity;
use parking_lot::Mutex;

use crate::state::AppState;

/// The longest range a rule may read (`rate(x[1h])`); samples older than this are dropped.
const HISTORY: Duration = Duration::from_secs(3600);

/// Reads the configured rules (or the shipped ones).
pub fn load_rules(cfg: &AlertsConfig) -> Result<Vec<Rule>, String> {
    let text = match &cfg.rules_file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => memd_alerts::SHIPPED_RULES.to_owned(),
    };
    memd_alerts::load(&text).map_err(|e| e.to_string())
}

/// The engine, shared between the evaluation loop and `/api/alerts`.
pub type SharedEngine = Arc<Mutex<Engine>>;

pub fn engine(cfg: &AlertsConfig) -> Result<SharedEngine, String> {
    Ok(Arc::new(Mutex::new(Engine::new(load_rules(cfg)?, HISTORY))))
}

/// The exposition text of every metric this process exports.
pub fn exposition(state: &AppState) -> String {
    let mut text = state.metrics.render();
    text.push_str(&crate::process::render());
    text
}

/// Samples and evaluates until the task is dropped.
pub async fn run(state: AppState, engine: SharedEngine) {
    let interval = Duration::from_millis(state.service.config().alerts.eval_interval_ms);
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        crate::routes::health::refresh_gauges(&state).await;
        let text = exposition(&state);
        let transitions = {
            let mut e = engine.lock();
            let now = Utc::now();
            e.observe(now, &text);
            e.evaluate(now)
        };
        for t in transitions {
            record(&state, t).await;
        }
    }
}

async fn record(state: &AppState, t: Transition) {
    let (kind, alert) = match &t {
        Transition::Firing(a) => ("alert_firing", a),
        Transition::Resolved(a) => ("alert_resolved", a),
    };
    let severity = match t {
        Transition::Resolved(_) => Severity::Info,
        Transition::Firing(_) => {
            alert.labels.get("severity").and_then(|s| Severity::parse(s)).unwrap_or(Severity::Warning)
        }
    };
    tracing::warn!(event = kind, alert = %alert.rule, value = alert.value, "alert {kind}: {}", alert.rule);
    let details = serde_json::to_value(alert).unwrap_or_default();
    state.service.record_event(kind, severity, details).await;
}
