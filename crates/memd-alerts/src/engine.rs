//! The rule state machine: each evaluation turns a rule's result series into alerts that are
//! `pending` until the rule has held for its `for:` duration, then `firing`, and `resolved`
//! (removed) when the series disappears. Every change to firing or resolved is returned as a
//! [`Transition`] (the caller records it as an event); one alert per rule and label set, so a
//! condition that persists is reported once, not at every evaluation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::eval::evaluate;
use crate::expr::Expr;
use crate::rules::Rule;
use crate::series::{parse_exposition, History, Labels};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Firing,
}

/// One active alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub rule: String,
    pub state: State,
    /// The rule's labels and the series' labels.
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub value: f64,
    /// When the condition started to hold.
    pub active_since: DateTime<Utc>,
    pub fired_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "transition", rename_all = "lowercase")]
pub enum Transition {
    Firing(Alert),
    Resolved(Alert),
}

/// Rules, the sampled history they read, and the alerts they hold.
pub struct Engine {
    rules: Vec<Rule>,
    /// Metric names the rules read: only these are kept in the history.
    names: HashSet<String>,
    history: History,
    active: BTreeMap<(String, Labels), Alert>,
    last_eval: Option<DateTime<Utc>>,
    max_keep: Duration,
}

impl Engine {
    /// `max_keep` bounds the sampled history; it keeps the longest range any rule reads (plus
    /// a minute), never more than `max_keep`, and only the metrics the rules name.
    pub fn new(rules: Vec<Rule>, max_keep: Duration) -> Self {
        let mut e = Self {
            rules: Vec::new(),
            names: HashSet::new(),
            history: History::new(max_keep),
            active: BTreeMap::new(),
            last_eval: None,
            max_keep,
        };
        e.replace_rules(rules);
        e
    }

    /// Swaps the rules (a reload); alerts of rules that still exist carry on, the others end
    /// without a resolved notification (their rule is gone, not their condition).
    pub fn replace_rules(&mut self, rules: Vec<Rule>) {
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        self.active.retain(|(rule, _), _| names.contains(&rule.as_str()));
        let mut metrics = HashSet::new();
        let mut longest = Duration::ZERO;
        for expr in rules.iter().filter_map(|r| r.expr.as_ref().ok()) {
            reads(expr, &mut metrics, &mut longest);
        }
        self.names = metrics;
        self.history.set_keep((longest + Duration::from_secs(60)).min(self.max_keep));
        self.rules = rules;
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Records a sample (Prometheus exposition text) taken at `at`: the metrics the rules read.
    pub fn observe(&mut self, at: DateTime<Utc>, exposition: &str) {
        let mut snapshot = parse_exposition(exposition);
        snapshot.retain(|(name, _), _| self.names.contains(name));
        self.history.push(at, snapshot);
    }

    /// Evaluates every rule at `at` (the newest sample) and returns what changed.
    pub fn evaluate(&mut self, at: DateTime<Utc>) -> Vec<Transition> {
        let mut seen: HashMap<(String, Labels), ()> = HashMap::new();
        let mut out = Vec::new();
        for rule in &self.rules {
            let Ok(expr) = &rule.expr else { continue };
            for (series, value) in evaluate(expr, &self.history) {
                let mut labels = series;
                labels.extend(rule.labels.clone());
                let key = (rule.name.clone(), labels.clone());
                seen.insert(key.clone(), ());
                let alert = self.active.entry(key).or_insert_with(|| Alert {
                    rule: rule.name.clone(),
                    state: State::Pending,
                    labels: labels.clone(),
                    annotations: BTreeMap::new(),
                    value,
                    active_since: at,
                    fired_at: None,
                });
                alert.value = value;
                alert.annotations =
                    rule.annotations.iter().map(|(k, v)| (k.clone(), render(v, &labels, value))).collect();
                let held = (at - alert.active_since).to_std().unwrap_or_default();
                if alert.state == State::Pending && held >= rule.for_ {
                    alert.state = State::Firing;
                    alert.fired_at = Some(at);
                    out.push(Transition::Firing(alert.clone()));
                }
            }
        }
        let ended: Vec<(String, Labels)> =
            self.active.keys().filter(|k| !seen.contains_key(*k)).cloned().collect();
        for key in ended {
            if let Some(alert) = self.active.remove(&key) {
                if alert.state == State::Firing {
                    out.push(Transition::Resolved(alert));
                }
            }
        }
        self.last_eval = Some(at);
        out
    }

    /// Active alerts, firing first.
    pub fn active(&self) -> Vec<&Alert> {
        let mut v: Vec<&Alert> = self.active.values().collect();
        v.sort_by_key(|a| (a.state != State::Firing, a.active_since));
        v
    }

    pub fn last_evaluation(&self) -> Option<DateTime<Utc>> {
        self.last_eval
    }

    pub fn samples(&self) -> usize {
        self.history.len()
    }
}

/// The metric names an expression reads and the longest range it looks back.
fn reads(e: &Expr, names: &mut HashSet<String>, longest: &mut Duration) {
    match e {
        Expr::Number(_) => {}
        Expr::Instant(sel) => {
            names.insert(sel.name.clone());
        }
        Expr::Rate(sel, range) => {
            names.insert(sel.name.clone());
            *longest = (*longest).max(*range);
        }
        Expr::Sum { expr, .. } | Expr::HistogramQuantile(_, expr) => reads(expr, names, longest),
        Expr::Binary(_, l, r) => {
            reads(l, names, longest);
            reads(r, names, longest);
        }
    }
}

/// Prometheus' annotation templates, as far as the shipped rules use them: `{{ $labels.x }}`,
/// `{{ $value }}`, `{{ $value | humanize }}`, `| humanizeDuration`, `| humanizePercentage`.
pub fn render(template: &str, labels: &Labels, value: f64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = rest[start + 2..start + end].trim();
        out.push_str(&expand(inner, labels, value));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn expand(inner: &str, labels: &Labels, value: f64) -> String {
    if let Some(label) = inner.strip_prefix("$labels.") {
        return labels.get(label.trim()).cloned().unwrap_or_default();
    }
    let mut parts = inner.split('|').map(str::trim);
    if parts.next() != Some("$value") {
        return format!("{{{{ {inner} }}}}");
    }
    match parts.next() {
        Some("humanizePercentage") => format!("{}%", short(value * 100.0)),
        Some("humanizeDuration") if value < 1.0 => format!("{}ms", short(value * 1000.0)),
        Some("humanizeDuration") => format!("{}s", short(value)),
        _ => short(value),
    }
}

/// Up to four significant digits, no trailing zeros.
fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load;

    const RULES: &str = r#"
groups:
  - name: t
    rules:
      - alert: SlowSearch
        expr: histogram_quantile(0.95, sum by (le) (rate(lat_bucket{route="/v1/search"}[1m]))) > 0.1
        for: 2m
        labels: {severity: warning, sev: SEV-3}
        annotations: {summary: "p95 {{ $value | humanizeDuration }} on {{ $labels.route }}x"}
"#;

    fn sample(fast: u64, slow: u64) -> String {
        format!(
            "lat_bucket{{route=\"/v1/search\",le=\"0.1\"}} {fast}\nlat_bucket{{route=\"/v1/search\",le=\"0.25\"}} {}\n\
             lat_bucket{{route=\"/v1/search\",le=\"+Inf\"}} {}\n",
            fast + slow,
            fast + slow
        )
    }

    #[test]
    fn pending_then_firing_after_for_then_resolved_once() {
        let mut e = Engine::new(load(RULES).expect("rules"), Duration::from_secs(600));
        let t0 = Utc::now();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let (mut fast, mut slow) = (0, 0);
        let mut transitions = Vec::new();
        // Slow for 4 minutes (sampled every 15 s), then fast for 3.
        for step in 0..=28 {
            if step <= 16 {
                slow += 60;
            } else {
                fast += 60;
            }
            e.observe(at(step * 15), &sample(fast, slow));
            transitions.extend(e.evaluate(at(step * 15)).into_iter().map(|t| (step, t)));
            if step == 4 {
                assert_eq!(
                    e.active().first().map(|a| a.state),
                    Some(State::Pending),
                    "pending before `for:`"
                );
            }
        }
        let kinds: Vec<(i64, &str)> = transitions
            .iter()
            .map(|(s, t)| (*s, if matches!(t, Transition::Firing(_)) { "firing" } else { "resolved" }))
            .collect();
        assert_eq!(kinds.len(), 2, "one firing and one resolved: {kinds:?}");
        assert_eq!(kinds[0].1, "firing");
        assert!(kinds[0].0 >= 9, "fires only after holding 2 minutes: {kinds:?}");
        assert_eq!(kinds[1].1, "resolved");
        let Transition::Firing(alert) = &transitions[0].1 else { panic!("firing first") };
        assert_eq!(alert.labels.get("severity").map(String::as_str), Some("warning"));
        assert!(
            alert.annotations["summary"].starts_with("p95 2")
                && alert.annotations["summary"].ends_with("ms on x"),
            "{:?}",
            alert.annotations
        );
        assert!(e.active().is_empty());
    }

    #[test]
    fn templates() {
        let labels: Labels = [("instance".to_owned(), "m".to_owned())].into();
        assert_eq!(
            render("{{ $labels.instance }} at {{ $value | humanizePercentage }}", &labels, 0.0917),
            "m at 9.17%"
        );
        assert_eq!(render("{{ $value | humanizeDuration }}", &labels, 2.5), "2.5s");
        assert_eq!(render("{{ $value }}", &labels, 1500.0), "1500");
    }
}
