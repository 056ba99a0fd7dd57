//! The engine against Prometheus' own verdicts: every scenario of
//! `deploy/prometheus/alerts_test.yml` (which `promtool test rules` checks in CI) is replayed
//! through the in-process engine — the same synthetic series, evaluated every minute — and must
//! give the same alerts (name and labels) at every `eval_time`, firing or not.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, TimeZone, Utc};
use memd_alerts::series::Labels;
use memd_alerts::{load, Engine, State, SHIPPED_RULES};
use serde::Deserialize;

#[derive(Deserialize)]
struct TestFile {
    tests: Vec<Test>,
}

#[derive(Deserialize)]
struct Test {
    name: String,
    input_series: Vec<Input>,
    alert_rule_test: Vec<Expectation>,
}

#[derive(Deserialize)]
struct Input {
    series: String,
    values: String,
}

#[derive(Deserialize)]
struct Expectation {
    eval_time: String,
    alertname: String,
    exp_alerts: Vec<Expected>,
}

#[derive(Deserialize)]
struct Expected {
    exp_labels: BTreeMap<String, String>,
}

/// promtool's value notation: `1 2 3`, `a+bxN` (N+1 values from a, step b), `axN`, `_` (none).
fn expand(values: &str) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for term in values.split_whitespace() {
        if term == "_" {
            out.push(None);
            continue;
        }
        let Some((start, times)) = term.split_once('x') else {
            out.push(Some(term.parse().expect("number")));
            continue;
        };
        let n: usize = times.parse().expect("repeat count");
        let (a, step) = match start.rfind(['+', '-']).filter(|&i| i > 0) {
            Some(i) => (start[..i].parse::<f64>().expect("start"), start[i..].parse::<f64>().expect("step")),
            None => (start.parse().expect("start"), 0.0),
        };
        out.extend((0..=n).map(|k| Some(a + step * k as f64)));
    }
    out
}

/// `name{a="x"}` → exposition line head, kept as is (the engine parses exposition).
fn series_line(series: &str, value: f64) -> String {
    format!("{series} {value}")
}

fn minutes(s: &str) -> i64 {
    memd_alerts::rules::duration(s).expect("duration").as_secs() as i64 / 60
}

#[test]
fn the_engine_agrees_with_promtool_on_every_shipped_scenario() {
    let file: TestFile = serde_yaml::from_str(include_str!("../../../deploy/prometheus/alerts_test.yml"))
        .expect("alerts_test.yml");
    let mut checked = 0;
    for test in &file.tests {
        if test.input_series.iter().any(|s| s.series.starts_with("up{")) {
            continue; // ServiceDown: Prometheus' view of the scrape, not evaluated in-process.
        }
        let inputs: Vec<(String, Vec<Option<f64>>)> =
            test.input_series.iter().map(|s| (s.series.clone(), expand(&s.values))).collect();
        let mut expectations: Vec<&Expectation> = test.alert_rule_test.iter().collect();
        expectations.sort_by_key(|e| minutes(&e.eval_time));
        let last = expectations.last().map_or(0, |e| minutes(&e.eval_time));
        let mut engine =
            Engine::new(load(SHIPPED_RULES).expect("rules"), std::time::Duration::from_secs(7200));
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).single().expect("time");
        let mut at_minute: HashMap<i64, Vec<(String, Labels)>> = HashMap::new();
        for m in 0..=last {
            let text: String = inputs
                .iter()
                .filter_map(|(s, v)| v.get(m as usize).copied().flatten().map(|x| series_line(s, x)))
                .collect::<Vec<_>>()
                .join("\n");
            let now = t0 + Duration::minutes(m);
            engine.observe(now, &text);
            engine.evaluate(now);
            let firing = engine
                .active()
                .into_iter()
                .filter(|a| a.state == State::Firing)
                .map(|a| (a.rule.clone(), a.labels.clone()))
                .collect();
            at_minute.insert(m, firing);
        }
        for e in expectations {
            let got: Vec<&Labels> = at_minute[&minutes(&e.eval_time)]
                .iter()
                .filter(|(r, _)| *r == e.alertname)
                .map(|(_, l)| l)
                .collect();
            let want: Vec<Labels> =
                e.exp_alerts.iter().map(|x| x.exp_labels.clone().into_iter().collect()).collect();
            assert_eq!(
                got.len(),
                want.len(),
                "{}: {} at {}: got {got:?}, want {want:?}",
                test.name,
                e.alertname,
                e.eval_time
            );
            for w in &want {
                assert!(
                    got.contains(&w),
                    "{}: {} at {}: {w:?} not among {got:?}",
                    test.name,
                    e.alertname,
                    e.eval_time
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} expectations checked");
}
