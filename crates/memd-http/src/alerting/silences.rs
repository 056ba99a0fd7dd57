//! Silences and maintenance windows: while one is active, matching alerts are still evaluated,
//! shown and recorded, but not notified. A silence matches alerts whose labels (and
//! `alertname`, the rule) equal all its matchers; a maintenance window is a silence without
//! matchers. Stored in the database (they outlive a restart); this is the engine's copy.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use memd_alerts::Alert;
pub use memd_store::events::Silence;
use serde::Deserialize;

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

/// Silences at most at once.
pub const MAX_SILENCES: usize = 1000;

impl NewSilence {
    /// The silence to store (id assigned by the store), or why it is invalid.
    pub fn build(self, now: DateTime<Utc>) -> Result<Silence, String> {
        let starts_at = self.starts_at.unwrap_or(now);
        let ends_at = match (self.ends_at, self.duration_s) {
            (Some(end), None) => end,
            (None, Some(d)) => {
                starts_at + chrono::Duration::seconds(i64::try_from(d).unwrap_or(i64::MAX / 2).min(1 << 40))
            }
            _ => return Err("give exactly one of ends_at and duration_s".into()),
        };
        if ends_at <= starts_at || ends_at <= now {
            return Err("a silence must end after it starts and in the future".into());
        }
        if self.comment.len() > 1024 || self.matchers.len() > 32 {
            return Err("at most 32 matchers and a 1 KiB comment".into());
        }
        Ok(Silence { id: 0, matchers: self.matchers, starts_at, ends_at, comment: self.comment })
    }
}

/// The engine's copy of the stored silences.
#[derive(Default)]
pub struct Silences {
    list: Vec<Silence>,
}

impl Silences {
    pub fn replace(&mut self, list: Vec<Silence>) {
        self.list = list;
    }

    pub fn insert(&mut self, s: Silence) {
        self.list.push(s);
    }

    pub fn remove(&mut self, id: i64) {
        self.list.retain(|s| s.id != id);
    }

    /// Silences not yet over (dropping ended ones).
    pub fn current(&mut self, now: DateTime<Utc>) -> Vec<Silence> {
        self.list.retain(|s| s.ends_at > now);
        self.list.clone()
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

    fn new(
        matchers: &[(&str, &str)],
        starts: Option<i64>,
        ends: Option<i64>,
        duration: Option<u64>,
    ) -> NewSilence {
        let now = Utc::now();
        NewSilence {
            matchers: matchers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            starts_at: starts.map(|s| now + chrono::Duration::seconds(s)),
            ends_at: ends.map(|s| now + chrono::Duration::seconds(s)),
            duration_s: duration,
            comment: String::new(),
        }
    }

    #[test]
    fn silences_match_by_labels_and_time_and_windows_match_everything() {
        let now = Utc::now();
        let mut s = Silences::default();
        let mut one = new(&[("alertname", "A")], None, None, Some(60)).build(now).expect("silence");
        one.id = 1;
        s.insert(one);
        assert!(s.covers(&alert("A", "error"), now));
        assert!(!s.covers(&alert("B", "error"), now));
        assert!(!s.covers(&alert("A", "error"), now + chrono::Duration::seconds(61)), "over after its end");
        let mut window = new(&[], Some(30), Some(90), None).build(now).expect("window");
        window.id = 2;
        s.insert(window);
        assert!(!s.covers(&alert("B", "info"), now), "not started yet");
        assert!(s.covers(&alert("B", "info"), now + chrono::Duration::seconds(45)));
        s.remove(1);
        assert_eq!(s.current(now).len(), 1);
        assert!(new(&[], None, None, None).build(now).is_err(), "needs an end");
        assert!(new(&[], None, Some(-5), None).build(now).is_err(), "ends in the past");
    }
}
