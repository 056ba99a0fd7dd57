//! `GET /api/alerts` (rules with their state, active alerts, silences, recent history, summary);
//! for operators: `POST /api/alerts/reload` (re-read the rules without a restart) and
//! `POST /api/alerts/silences`, `DELETE /api/alerts/silences/{id}` (silences and maintenance
//! windows).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use memd_alerts::State as AlertState;
use memd_store::events::{EventQuery, Severity};
use serde_json::{json, Value};

use axum::http::StatusCode;
use chrono::Utc;
use memd_core::ServiceError;

use crate::alerting::silences::{NewSilence, Silence, MAX_SILENCES};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Operator};
use crate::state::AppState;

/// Transitions shown as history.
const HISTORY: usize = 50;

pub async fn status(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let config = s.service.config();
    let cfg = &config.alerts;
    let mut history = Vec::new();
    for kind in ["alert_firing", "alert_resolved"] {
        let q = EventQuery { kind: Some(kind.into()), limit: HISTORY, ..EventQuery::default() };
        history.extend(s.service.events(q).await?);
    }
    history.sort_by_key(|e| std::cmp::Reverse(e.id));
    history.truncate(HISTORY);
    let Some(alerting) = &s.alerts else {
        return Ok(Json(
            json!({"enabled": false, "error": s.alerts_error, "rules": [], "active": [], "history": history}),
        ));
    };
    let now = Utc::now();
    let mut silences = alerting.silences.lock();
    let current = silences.current(now);
    let e = alerting.engine.lock();
    let active = e.active();
    let state_of = |rule: &str| {
        let states: Vec<AlertState> = active.iter().filter(|a| a.rule == rule).map(|a| a.state).collect();
        if states.contains(&AlertState::Firing) {
            "firing"
        } else if states.is_empty() {
            "inactive"
        } else {
            "pending"
        }
    };
    let rules: Vec<Value> = e
        .rules()
        .iter()
        .map(|r| {
            json!({"name": r.name, "group": r.group, "expr": r.expr_src, "for_s": r.for_.as_secs_f64(),
                "severity": r.severity(), "labels": r.labels, "state": state_of(&r.name),
                "evaluated": r.expr.is_ok(), "not_evaluated_because": r.expr.as_ref().err()})
        })
        .collect();
    let mut by_severity: BTreeMap<String, usize> = BTreeMap::new();
    for a in active.iter().filter(|a| a.state == AlertState::Firing) {
        *by_severity.entry(a.labels.get("severity").cloned().unwrap_or_default()).or_default() += 1;
    }
    let firing = active.iter().filter(|a| a.state == AlertState::Firing).count();
    Ok(Json(json!({
        "enabled": true,
        "rules_file": cfg.rules_file,
        "eval_interval_ms": cfg.eval_interval_ms,
        "last_evaluation": e.last_evaluation(),
        "samples": e.samples(),
        "summary": {"firing": firing, "pending": active.len() - firing, "firing_by_severity": by_severity},
        "rules": rules,
        "active": active.iter().map(|a| {
            let mut v = serde_json::to_value(a).unwrap_or_default();
            v["silenced"] = json!(silences.covers(a, now));
            v
        }).collect::<Vec<_>>(),
        "silences": current,
        "history": history,
    })))
}

pub async fn reload(_: Operator, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    enabled(&s)?;
    let count = crate::alerting::reload_rules(&s)
        .await
        .map_err(|why| ApiError(memd_core::ServiceError::invalid("invalid_rules", why)))?;
    Ok(Json(json!({"rules": count, "rules_file": s.service.config().alerts.rules_file})))
}

fn enabled(s: &AppState) -> Result<&crate::alerting::SharedAlerting, ApiError> {
    s.alerts
        .as_ref()
        .ok_or_else(|| ApiError(ServiceError::invalid("alerts_disabled", "the alert engine is off")))
}

/// Creates a silence (with matchers) or a maintenance window (without).
pub async fn create_silence(
    _: Operator,
    State(s): State<AppState>,
    ApiJson(body): ApiJson<NewSilence>,
) -> Result<(StatusCode, Json<Silence>), ApiError> {
    let alerting = enabled(&s)?;
    let now = Utc::now();
    let invalid = |why: String| ApiError(ServiceError::invalid("invalid_silence", why));
    let silence = body.build(now).map_err(invalid)?;
    if alerting.silences.lock().current(now).len() >= MAX_SILENCES {
        return Err(invalid(format!("at most {MAX_SILENCES} silences")));
    }
    let silence = s.service.create_silence(silence).await?;
    alerting.silences.lock().insert(silence.clone());
    let details = serde_json::to_value(&silence).unwrap_or_default();
    s.service.record_event("silence_created", Severity::Info, details).await;
    Ok((StatusCode::CREATED, Json(silence)))
}

pub async fn delete_silence(
    _: Operator,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let alerting = enabled(&s)?;
    s.service.delete_silence(id).await?;
    alerting.silences.lock().remove(id);
    s.service.record_event("silence_deleted", Severity::Info, serde_json::json!({"id": id})).await;
    Ok(StatusCode::NO_CONTENT)
}
