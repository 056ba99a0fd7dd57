//! Alert rules in Prometheus' rule-file format (`groups: [{name, rules: [{alert, expr, for,
//! labels, annotations}]}]`), so the file Prometheus loads is the file memd evaluates. A rule
//! outside the supported subset is kept and reported with the reason; recording rules are
//! ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::expr::{parse, Expr};

#[derive(Deserialize)]
struct File {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    name: String,
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
struct RawRule {
    alert: Option<String>,
    expr: String,
    #[serde(rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// One alerting rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub group: String,
    pub name: String,
    pub expr_src: String,
    /// The parsed expression, or why memd cannot evaluate it in-process.
    pub expr: Result<Expr, String>,
    pub for_: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    pub fn severity(&self) -> &str {
        self.labels.get("severity").map_or("warning", String::as_str)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rule file: {0}")]
    Yaml(String),
    #[error("rule {0}: `for: {1}` is not a duration like 30s, 5m or 1h")]
    Duration(String, String),
}

/// Prometheus durations: `30s`, `5m`, `1h30m`, `0m`, `2d`, `1w` (units ms, s, m, h, d, w, y).
pub fn duration(s: &str) -> Option<Duration> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * factor;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Why an expression cannot be judged in-process even though it parses.
fn in_process_limit(src: &str) -> Option<String> {
    let names_up = src.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w == "up");
    names_up
        .then(|| "`up` is Prometheus' view of the scrape; a running memd cannot see itself down".to_owned())
}

/// Parses a rule file.
pub fn load(yaml: &str) -> Result<Vec<Rule>, RulesError> {
    let file: File = serde_yaml::from_str(yaml).map_err(|e| RulesError::Yaml(e.to_string()))?;
    let mut rules = Vec::new();
    for g in file.groups {
        for r in g.rules {
            let Some(name) = r.alert else { continue };
            let for_src = r.for_.unwrap_or_else(|| "0s".into());
            let for_ = duration(&for_src).ok_or_else(|| RulesError::Duration(name.clone(), for_src))?;
            let expr = match in_process_limit(&r.expr) {
                Some(why) => Err(why),
                None => parse(&r.expr).map_err(|e| e.to_string()),
            };
            rules.push(Rule {
                group: g.name.clone(),
                name,
                expr_src: r.expr.trim().to_owned(),
                expr,
                for_,
                labels: r.labels,
                annotations: r.annotations,
            });
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(duration("0m"), Some(Duration::ZERO));
        assert_eq!(duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(duration("ten"), None);
        assert_eq!(duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(duration("1w"), Some(Duration::from_secs(604_800)));
        assert_eq!(duration(&format!("{}h", "9".repeat(400))), None, "too long: refused, no panic");
    }

    #[test]
    fn every_shipped_rule_is_evaluable_in_process_but_service_down() {
        let rules = load(crate::SHIPPED_RULES).expect("the shipped rules load");
        assert!(rules.len() >= 15);
        for r in &rules {
            match (&r.expr, r.name.as_str()) {
                (Err(why), "MemdServiceDown") => assert!(why.contains("up"), "{why}"),
                (Err(why), name) => panic!("{name} is not evaluable in-process: {why}"),
                (Ok(_), _) => {
                    assert!(r.labels.contains_key("severity") && r.labels.contains_key("sev"), "{}", r.name)
                }
            }
        }
    }
}
