//! The built-in alert engine at work: every `alerts.eval_interval_ms` it samples this server's
//! metrics (the `/metrics` text), evaluates the rules (memd-alerts), records each firing and
//! resolution as an event, and notifies the configured webhooks ([`notify`]) unless a silence
//! or maintenance window covers the alert ([`silences`]). Rules come from `alerts.rules_file`
//! or the shipped set and reload without a restart (`POST /api/alerts/reload`).

pub mod notify;
pub mod silences;

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

/// Re-reads the rules of `alerts.rules_file` into the running engine and records an
/// `alert_rules_reloaded` event; returns how many rules are now in force. On error the previous
/// rules stay.
pub async fn reload_rules(state: &AppState) -> Result<usize, String> {
    let Some(alerting) = &state.alerts else { return Err("the alert engine is off".to_owned()) };
    let cfg = state.service.config();
    let rules = load_rules(&cfg.alerts)?;
    let count = rules.len();
    alerting.engine.lock().replace_rules(rules);
    let details = serde_json::json!({"rules": count, "rules_file": cfg.alerts.rules_file});
    state.service.record_event("alert_rules_reloaded", Severity::Info, details).await;
    Ok(count)
}

/// The engine and its silences, shared between the evaluation loop and `/api/alerts`.
pub struct Alerting {
    pub engine: Mutex<Engine>,
    pub silences: Mutex<silences::Silences>,
    client: reqwest::Client,
    /// Deliveries in progress ([`notify::MAX_IN_FLIGHT`] at most).
    deliveries: Arc<tokio::sync::Semaphore>,
    /// Firing alerts whose firing was notified: a resolution is notified only for these, and a
    /// firing alert a silence hid is notified once the silence no longer covers it.
    notified: Mutex<std::collections::HashSet<(String, memd_alerts::series::Labels)>>,
}

pub type SharedAlerting = Arc<Alerting>;

pub fn engine(cfg: &AlertsConfig) -> Result<SharedAlerting, String> {
    Ok(Arc::new(Alerting {
        engine: Mutex::new(Engine::new(load_rules(cfg)?, HISTORY)),
        silences: Mutex::new(silences::Silences::default()),
        client: reqwest::Client::new(),
        deliveries: Arc::new(tokio::sync::Semaphore::new(notify::MAX_IN_FLIGHT)),
        notified: Mutex::new(Default::default()),
    }))
}

/// The exposition text of every metric this process exports.
pub fn exposition(state: &AppState) -> String {
    let mut text = state.metrics.render();
    text.push_str(&crate::process::render());
    text
}

/// Samples, evaluates and notifies until the task is dropped.
pub async fn run(state: AppState, alerting: SharedAlerting) {
    let mut interval_ms = state.service.config().alerts.eval_interval_ms;
    let mut every = ticker(interval_ms, true);
    match state.service.silences().await {
        Ok(stored) => alerting.silences.lock().replace(stored),
        Err(e) => tracing::warn!(event = "silences_not_loaded", error_type = e.code().name(), error = %e),
    }
    loop {
        every.tick().await;
        // A configuration reload may have changed the interval.
        let wanted = state.service.config().alerts.eval_interval_ms;
        if wanted != interval_ms {
            (interval_ms, every) = (wanted, ticker(wanted, false));
        }
        crate::routes::health::refresh_gauges(&state).await;
        let text = exposition(&state);
        let now = Utc::now();
        let (transitions, firing) = {
            let mut e = alerting.engine.lock();
            e.observe(now, &text);
            let t = e.evaluate(now);
            let firing: Vec<memd_alerts::Alert> =
                e.active().into_iter().filter(|a| a.state == memd_alerts::State::Firing).cloned().collect();
            (t, firing)
        };
        for t in &transitions {
            let silenced = alerting.silences.lock().covers(alert_of(t), now);
            record(&state, t, silenced).await;
        }
        let due = due_notifications(&alerting, transitions, firing, now);
        notify_all(&state, &alerting, &due);
    }
}

/// Ticks every `interval_ms`, the first tick at once or after one period (an interval changed
/// by a reload just ticked: no second evaluation right behind it).
fn ticker(interval_ms: u64, first_now: bool) -> tokio::time::Interval {
    let period = Duration::from_millis(interval_ms);
    let first = tokio::time::Instant::now() + if first_now { Duration::ZERO } else { period };
    let mut every = tokio::time::interval_at(first, period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every
}

/// What to notify now: firings not yet notified and not silenced (new ones, and ones a silence
/// hid until now), and resolutions of firings that were notified.
fn due_notifications(
    alerting: &Alerting,
    transitions: Vec<Transition>,
    firing: Vec<memd_alerts::Alert>,
    now: chrono::DateTime<Utc>,
) -> Vec<Transition> {
    let silences = alerting.silences.lock();
    let mut notified = alerting.notified.lock();
    let mut due = Vec::new();
    for t in transitions {
        if let Transition::Resolved(a) = t {
            if notified.remove(&(a.rule.clone(), a.labels.clone())) {
                due.push(Transition::Resolved(a));
            }
        }
    }
    // Forget alerts that stopped firing without a resolution (their rule was reloaded away), so
    // they are notified again if they come back.
    let firing_now: std::collections::HashSet<_> =
        firing.iter().map(|a| (a.rule.clone(), a.labels.clone())).collect();
    notified.retain(|k| firing_now.contains(k));
    for a in firing {
        let key = (a.rule.clone(), a.labels.clone());
        if !notified.contains(&key) && !silences.covers(&a, now) {
            notified.insert(key);
            due.push(Transition::Firing(a));
        }
    }
    due
}

fn notify_all(state: &AppState, alerting: &SharedAlerting, due: &[Transition]) {
    for g in notify::group(due) {
        for hook in &state.service.config().alerts.webhooks {
            let Ok(permit) = alerting.deliveries.clone().try_acquire_owned() else {
                metrics::counter!(notify::NOTIFICATIONS_TOTAL, "outcome" => "dropped").increment(1);
                tracing::warn!(event = "notification_dropped", error_type = "overloaded", rule = g.rule);
                continue;
            };
            let body = notify::payload(hook.format, &g);
            let task = notify::deliver(
                state.clone(),
                alerting.client.clone(),
                hook.clone(),
                g.rule.to_owned(),
                body,
            );
            tokio::spawn(async move {
                task.await;
                drop(permit);
            });
        }
    }
}

fn alert_of(t: &Transition) -> &memd_alerts::Alert {
    match t {
        Transition::Firing(a) | Transition::Resolved(a) => a,
    }
}

async fn record(state: &AppState, t: &Transition, silenced: bool) {
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
    match t {
        Transition::Firing(_) => {
            tracing::warn!(event = kind, alert = %alert.rule, value = alert.value, silenced)
        }
        Transition::Resolved(_) => tracing::info!(event = kind, alert = %alert.rule, silenced),
    }
    let mut details = serde_json::to_value(alert).unwrap_or_default();
    details["silenced"] = serde_json::json!(silenced);
    state.service.record_event(kind, severity, details).await;
}
