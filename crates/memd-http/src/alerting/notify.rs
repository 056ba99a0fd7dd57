//! Notifications: one per rule and transition of an evaluation (its alerts grouped), to every
//! configured webhook, as Alertmanager-like JSON or a Slack message; retried with exponential
//! backoff (0.5 s, doubling) up to `alerts.notify_attempts`, each attempt bounded by
//! `alerts.notify_timeout_ms`, the wait capped at a minute, at most [`MAX_IN_FLIGHT`] in progress.
//! A notification that never got through is an event (naming the webhook's host, never its URL).

use std::collections::BTreeMap;
use std::time::Duration;

use memd_alerts::{Alert, Transition};
use memd_core::config::{WebhookConfig, WebhookFormat};
use memd_store::events::Severity;
use serde_json::{json, Value};

use crate::state::AppState;

pub const NOTIFICATIONS_TOTAL: &str = "memd_alert_notifications_total";
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Deliveries in progress at most (beyond: dropped, counted and recorded as failed).
pub const MAX_IN_FLIGHT: usize = 64;

/// One group: a rule's alerts that fired (or resolved) in the same evaluation.
pub struct Group<'a> {
    pub rule: &'a str,
    pub status: &'static str,
    pub alerts: Vec<&'a Alert>,
}

/// Groups the transitions of one evaluation by rule and direction, in order of appearance.
pub fn group(transitions: &[Transition]) -> Vec<Group<'_>> {
    let mut groups: BTreeMap<(&str, &'static str), Vec<&Alert>> = BTreeMap::new();
    for t in transitions {
        let (status, a) = match t {
            Transition::Firing(a) => ("firing", a),
            Transition::Resolved(a) => ("resolved", a),
        };
        groups.entry((a.rule.as_str(), status)).or_default().push(a);
    }
    groups.into_iter().map(|((rule, status), alerts)| Group { rule, status, alerts }).collect()
}

/// The body a webhook of `format` receives for `g`.
pub fn payload(format: WebhookFormat, g: &Group<'_>) -> Value {
    let severity = g.alerts.first().and_then(|a| a.labels.get("severity")).map_or("warning", String::as_str);
    match format {
        WebhookFormat::Json => json!({
            "receiver": "memd",
            "status": g.status,
            "groupLabels": {"alertname": g.rule},
            "commonLabels": {"alertname": g.rule, "severity": severity},
            "alerts": g.alerts.iter().map(|a| json!({
                "status": g.status, "labels": a.labels, "annotations": a.annotations,
                "startsAt": a.active_since, "firedAt": a.fired_at, "value": a.value,
            })).collect::<Vec<_>>(),
        }),
        WebhookFormat::Slack => {
            let lines: Vec<String> = g
                .alerts
                .iter()
                .map(|a| {
                    let summary = a.annotations.get("summary").cloned().unwrap_or_else(|| a.rule.clone());
                    let runbook =
                        a.annotations.get("runbook_url").map(|u| format!(" ({u})")).unwrap_or_default();
                    format!("• {summary}{runbook}")
                })
                .collect();
            let head = format!("[{}] {} ({severity})", g.status.to_uppercase(), g.rule);
            json!({"text": format!("{head}\n{}", lines.join("\n"))})
        }
    }
}

/// Sends `body` to `hook`, retrying with backoff; records an event when every attempt failed.
pub async fn deliver(
    state: AppState,
    client: reqwest::Client,
    hook: WebhookConfig,
    rule: String,
    body: Value,
) {
    let config = state.service.config();
    let cfg = &config.alerts;
    let timeout = Duration::from_millis(cfg.notify_timeout_ms);
    let mut backoff = Duration::from_millis(500);
    let mut last_error = String::new();
    for attempt in 1..=cfg.notify_attempts {
        match client.post(&hook.url).timeout(timeout).json(&body).send().await {
            Ok(r) if r.status().is_success() => {
                metrics::counter!(NOTIFICATIONS_TOTAL, "outcome" => "delivered").increment(1);
                return;
            }
            Ok(r) => last_error = format!("HTTP {}", r.status().as_u16()),
            // Without the URL: a webhook's URL is its secret.
            Err(e) => last_error = e.without_url().to_string(),
        }
        metrics::counter!(NOTIFICATIONS_TOTAL, "outcome" => "retried").increment(1);
        if attempt < cfg.notify_attempts {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
    metrics::counter!(NOTIFICATIONS_TOTAL, "outcome" => "failed").increment(1);
    tracing::warn!(event = "notification_failed", error_type = "webhook", rule = %rule, error = %last_error);
    let details = json!({"rule": rule, "url": memd_core::config::redact_url(&hook.url), "attempts": cfg.notify_attempts,
            "error": last_error});
    state.service.record_event("notification_failed", Severity::Warning, details).await;
}
