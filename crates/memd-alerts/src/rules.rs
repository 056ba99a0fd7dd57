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

/// `30s`, `5m`, `1h`, `0m`.
pub fn duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = n.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return None,
    };
    (secs >= 0.0).then(|| Duration::from_secs_f64(secs))
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
