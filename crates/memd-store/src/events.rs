//! Operational events: state changes an operator wants in one timeline (start and stop, alerts,
//! configuration reloads, and later breakers, degradation, security incidents, backups). System
//! data, not tenant data: events carry no memory content and no secrets; the full timeline is for
//! operators (`/api/events`), the alert transitions also show in `/api/alerts`. Kept for a bounded
//! time and count (see [`crate::Store::prune_events`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How serious an event is; the alert severities, mapped to SEV-4..SEV-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Error, Severity::Critical]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// An event to record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// A stable snake_case name such as `started`, `stopped`, `alert_firing`.
    #[serde(rename = "type")]
    pub kind: String,
    pub severity: Severity,
    /// Any JSON object describing it.
    pub details: serde_json::Value,
}

/// A recorded event; `id` orders events by recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub severity: Severity,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Which events to read: newest first, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventQuery {
    pub kind: Option<String>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events with an id below this one (the `next_cursor` of a previous page).
    pub before_id: Option<i64>,
    pub limit: usize,
}

/// A silence of the alert engine (or, without matchers, a maintenance window), kept so it
/// outlives a restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: i64,
    /// Label → value an alert must all have (`alertname` is the rule).
    pub matchers: std::collections::BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
}
