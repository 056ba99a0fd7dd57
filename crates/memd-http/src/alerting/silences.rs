//! Silences and maintenance windows: while one is active, matching alerts are still evaluated,
//! shown and recorded, but not notified. A silence matches alerts whose labels (and
//! `alertname`) equal all its matchers; a maintenance window is a silence without matchers.
//! Kept in memory: a restart ends them (recorded as events when created and deleted).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use memd_alerts::Alert;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Silence {
    pub id: u64,
    pub matchers: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
}

/// `POST /api/alerts/silences`: `ends_at` or `duration_s` (one of them), `starts_at` defaulting
/// to now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    #[serde(default)]
    pub matchers: BTreeMap<String, String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub duration_s: Option<u64>,
    #[serde(default)]
    pub comment: String,
}

/// Silences at most at once (expired ones are dropped first).
const MAX_SILENCES: usize = 1000;

#[derive(Default)]
pub struct Silences {
    next: u64,
    list: Vec<Silence>,
}

impl Silences {
    pub fn add(&mut self, s: NewSilence, now: DateTime<Utc>) -> Result<Silence, String> {
        let starts_at = s.starts_at.unwrap_or(now);
        let ends_at = match (s.ends_at, s.duration_s) {
            (Some(end), None) => end,
            (None, Some(d)) => {
                starts_at + chrono::Duration::seconds(i64::try_from(d).unwrap_or(i64::MAX / 2))
            }
            _ => return Err("give exactly one of ends_at and duration_s".into()),
        };
        if ends_at <= starts_at || ends_at <= now {
            return Err("a silence must end after it starts and in the future".into());
        }
        self.list.retain(|x| x.ends_at > now);
        if self.list.len() >= MAX_SILENCES {
            return Err(format!("at most {MAX_SILENCES} silences"));
        }
        self.next += 1;
        let silence = Silence { id: self.next, matchers: s.matchers, starts_at, ends_at, comment: s.comment };
        self.list.push(silence.clone());
        Ok(silence)
    }

    pub fn remove(&mut self, id: u64) -> Option<Silence> {
        let i = self.list.iter().position(|s| s.id == id)?;
        Some(self.list.remove(i))
    }

    /// Silences not yet over.
    pub fn current(&self, now: DateTime<Utc>) -> Vec<Silence> {
        self.list.iter().filter(|s| s.ends_at > now).cloned().collect()
    }

    /// Whether an active silence covers `alert` at `now`.
    pub fn covers(&self, alert: &Alert, now: DateTime<Utc>) -> bool {
        self.list.iter().any(|s| {
            s.starts_at <= now
                && now < s.ends_at
                && s.matchers.iter().all(|(k, v)| {
                    if k == "alertname" {
                        *v == alert.rule
                    } else {
                        alert.labels.get(k) == Some(v)
                    }
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(rule: &str, severity: &str) -> Alert {
        Alert {
            rule: rule.into(),
            state: memd_alerts::State::Firing,
            labels: [("severity".to_owned(), severity.to_owned())].into(),
            annotations: BTreeMap::new(),
            value: 1.0,
            active_since: Utc::now(),
            fired_at: None,
        }
    }

    #[test]
    fn silences_match_by_labels_and_time_and_windows_match_everything() {
        let now = Utc::now();
        let mut s = Silences::default();
        let one = NewSilence {
            matchers: [("alertname".to_owned(), "A".to_owned())].into(),
            starts_at: None,
            ends_at: None,
            duration_s: Some(60),
            comment: "deploy".into(),
        };
        let id = s.add(one, now).expect("silence").id;
        assert!(s.covers(&alert("A", "error"), now));
        assert!(!s.covers(&alert("B", "error"), now));
        assert!(!s.covers(&alert("A", "error"), now + chrono::Duration::seconds(61)), "over after its end");
        let later = NewSilence {
            matchers: BTreeMap::new(),
            starts_at: Some(now + chrono::Duration::seconds(30)),
            ends_at: Some(now + chrono::Duration::seconds(90)),
            duration_s: None,
            comment: "maintenance".into(),
        };
        s.add(later, now).expect("window");
        assert!(!s.covers(&alert("B", "info"), now), "not started yet");
        assert!(s.covers(&alert("B", "info"), now + chrono::Duration::seconds(45)));
        assert!(s.remove(id).is_some() && s.remove(id).is_none());
        let bad = NewSilence {
            matchers: BTreeMap::new(),
            starts_at: None,
            ends_at: None,
            duration_s: None,
            comment: String::new(),
        };
        assert!(s.add(bad, now).is_err());
    }
}
