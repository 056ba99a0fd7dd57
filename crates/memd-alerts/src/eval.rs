//! Evaluates an [`Expr`] at the newest snapshot of a [`History`] into an instant vector, with
//! PromQL's semantics for the supported subset: `rate` is the per-second increase over the range
//! (counter resets handled; needs two samples), `sum by` groups, `histogram_quantile` interpolates
//! inside the bucket (as Prometheus does), comparisons filter, and binary operations between
//! vectors match series with identical label sets (metric names dropped).

use std::collections::BTreeMap;

use crate::expr::{Expr, Matcher, Op, Selector};
use crate::series::{History, Labels};

/// An instant vector: label sets with values.
pub type Vector = Vec<(Labels, f64)>;

enum Value {
    Scalar(f64),
    Vector(Vector),
}

fn matches(sel: &Selector, name: &str, labels: &Labels) -> bool {
    name == sel.name
        && sel.matchers.iter().all(|m| match m {
            Matcher::Eq(l, v) => labels.get(l).map_or(v.is_empty(), |x| x == v),
            Matcher::Ne(l, v) => labels.get(l).map_or(!v.is_empty(), |x| x != v),
            Matcher::Re(_, None) => true,
            Matcher::Re(l, Some(alts)) => labels.get(l).is_some_and(|x| alts.iter().any(|a| a == x)),
        })
}

/// Evaluates `e` at the newest snapshot; an empty vector when there is no data.
pub fn evaluate(e: &Expr, h: &History) -> Vector {
    match eval(e, h) {
        Value::Vector(v) => v,
        Value::Scalar(s) => vec![(Labels::new(), s)],
    }
}

fn eval(e: &Expr, h: &History) -> Value {
    match e {
        Expr::Number(n) => Value::Scalar(*n),
        Expr::Instant(sel) => Value::Vector(instant(sel, h)),
        Expr::Rate(sel, range) => Value::Vector(rate(sel, *range, h)),
        Expr::Sum { by, expr } => Value::Vector(sum(by.as_deref(), vector(eval(expr, h)))),
        Expr::HistogramQuantile(q, expr) => Value::Vector(histogram_quantile(*q, vector(eval(expr, h)))),
        Expr::Binary(op, l, r) => binary(*op, eval(l, h), eval(r, h)),
    }
}

fn vector(v: Value) -> Vector {
    match v {
        Value::Vector(v) => v,
        Value::Scalar(s) => vec![(Labels::new(), s)],
    }
}

fn instant(sel: &Selector, h: &History) -> Vector {
    let Some((_, latest)) = h.latest() else { return Vec::new() };
    latest.iter().filter(|((n, l), _)| matches(sel, n, l)).map(|((_, l), v)| (l.clone(), *v)).collect()
}

/// A counter over a range: first time and value, last time and value, increase so far (resets
/// counted from zero) and the number of samples.
#[derive(Clone, Copy)]
struct Span {
    first_t: chrono::DateTime<chrono::Utc>,
    first: f64,
    last_t: chrono::DateTime<chrono::Utc>,
    last: f64,
    increase: f64,
    samples: u32,
}

fn secs(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// Prometheus' `rate`: the increase over the samples in `(now - range, now]`, extrapolated
/// towards the range's edges (by at most half a sampling interval beyond the samples, and
/// never below zero for a counter), per second of the range.
fn rate(sel: &Selector, range: std::time::Duration, h: &History) -> Vector {
    let Some((now, _)) = h.latest() else { return Vec::new() };
    let range_s = range.as_secs_f64();
    let start = *now - chrono::Duration::from_std(range).unwrap_or(chrono::Duration::minutes(5));
    let mut acc: BTreeMap<Labels, Span> = BTreeMap::new();
    for (t, snapshot) in h.since(start).filter(|(t, _)| *t > start) {
        for ((n, l), v) in snapshot {
            if !matches(sel, n, l) {
                continue;
            }
            acc.entry(l.clone())
                .and_modify(|s| {
                    s.increase += if *v >= s.last { *v - s.last } else { *v };
                    s.last_t = *t;
                    s.last = *v;
                    s.samples += 1;
                })
                .or_insert(Span { first_t: *t, first: *v, last_t: *t, last: *v, increase: 0.0, samples: 1 });
        }
    }
    acc.into_iter()
        .filter_map(|(l, s)| {
            let sampled = secs(s.last_t - s.first_t);
            if s.samples < 2 || sampled <= 0.0 {
                return None;
            }
            let average_gap = sampled / f64::from(s.samples - 1);
            let mut to_start = secs(s.first_t - start);
            let to_end = secs(*now - s.last_t);
            if s.increase > 0.0 && s.first >= 0.0 {
                // A counter does not extrapolate below zero.
                to_start = to_start.min(sampled * (s.first / s.increase));
            }
            let threshold = average_gap * 1.1;
            let edge = |d: f64| if d < threshold { d } else { average_gap / 2.0 };
            let interval = sampled + edge(to_start) + edge(to_end);
            Some((l, s.increase * (interval / sampled) / range_s))
        })
        .collect()
}

fn sum(by: Option<&[String]>, v: Vector) -> Vector {
    let mut groups: BTreeMap<Labels, f64> = BTreeMap::new();
    for (labels, value) in v {
        let key: Labels = match by {
            Some(by) => labels.into_iter().filter(|(k, _)| by.contains(k)).collect(),
            None => Labels::new(),
        };
        *groups.entry(key).or_default() += value;
    }
    groups.into_iter().collect()
}

fn histogram_quantile(q: f64, v: Vector) -> Vector {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for (mut labels, count) in v {
        let Some(le) = labels.remove("le").and_then(|le| le.parse::<f64>().ok()) else { continue };
        groups.entry(labels).or_default().push((le, count));
    }
    groups
        .into_iter()
        .filter_map(|(labels, mut buckets)| {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            quantile(q, &buckets).map(|v| (labels, v))
        })
        .collect()
}

/// Prometheus' bucket interpolation over cumulative `(le, count)` buckets ending with `+Inf`.
fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last().filter(|(le, _)| le.is_infinite())?.1;
    if total <= 0.0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total;
    let i = buckets.iter().position(|(_, c)| *c >= rank)?;
    if buckets[i].0.is_infinite() {
        return buckets.get(i.wrapping_sub(1)).map(|b| b.0);
    }
    let (lower, below) = if i == 0 { (0.0, 0.0) } else { buckets[i - 1] };
    let (upper, count) = buckets[i];
    if count == below {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / (count - below))
}

fn apply(op: Op, a: f64, b: f64) -> Option<f64> {
    let keep = |c: bool| c.then_some(a);
    match op {
        Op::Add => Some(a + b),
        Op::Sub => Some(a - b),
        Op::Mul => Some(a * b),
        Op::Div => Some(a / b),
        Op::Gt => keep(a > b),
        Op::Lt => keep(a < b),
        Op::Ge => keep(a >= b),
        Op::Le => keep(a <= b),
        Op::Eq => keep(a == b),
        Op::Ne => keep(a != b),
        Op::And => Some(a),
    }
}

fn binary(op: Op, l: Value, r: Value) -> Value {
    match (l, r) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            apply(op, a, b).map_or(Value::Vector(Vec::new()), Value::Scalar)
        }
        (Value::Vector(v), Value::Scalar(b)) => {
            Value::Vector(v.into_iter().filter_map(|(l, a)| apply(op, a, b).map(|x| (l, x))).collect())
        }
        (Value::Scalar(a), Value::Vector(v)) => Value::Vector(
            v.into_iter()
                .filter_map(|(l, b)| {
                    let x = apply(op, a, b)?;
                    // A comparison keeps the vector's sample value, as PromQL does.
                    Some((l, if op.is_comparison() { b } else { x }))
                })
                .collect(),
        ),
        (Value::Vector(lv), Value::Vector(rv)) => {
            let right: BTreeMap<Labels, f64> = rv.into_iter().collect();
            Value::Vector(
                lv.into_iter()
                    .filter_map(|(l, a)| {
                        let b = *right.get(&l)?;
                        apply(op, a, b).filter(|x| x.is_finite() || op.is_comparison()).map(|x| (l, x))
                    })
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;

    use super::*;
    use crate::expr::parse;
    use crate::series::parse_exposition;

    fn history(texts: &[&str], step_s: i64) -> History {
        let mut h = History::new(Duration::from_secs(3600));
        let start = Utc::now() - chrono::Duration::seconds(step_s * texts.len() as i64);
        for (i, t) in texts.iter().enumerate() {
            h.push(start + chrono::Duration::seconds(step_s * i as i64), parse_exposition(t));
        }
        h
    }

    fn value(src: &str, h: &History) -> Vec<f64> {
        evaluate(&parse(src).expect("parse"), h).into_iter().map(|(_, v)| v).collect()
    }

    #[test]
    fn rate_sum_and_ratio_like_prometheus() {
        let h = history(
            &[
                "r{status=\"200\"} 0\nr{status=\"503\"} 0",
                "r{status=\"200\"} 600\nr{status=\"503\"} 6",
                "r{status=\"200\"} 1200\nr{status=\"503\"} 12",
            ],
            60,
        );
        // Three samples a minute apart, 1200 in 2 minutes; a counter that starts at 0 is not
        // extrapolated to before that, so 1200 over the 5-minute range, as Prometheus gives.
        assert_eq!(value("rate(r{status=\"200\"}[5m])", &h), [4.0]);
        let ratio = value("sum(rate(r{status=~\"5..\"}[5m])) / sum(rate(r[5m]))", &h);
        assert!((ratio[0] - 12.0 / 1212.0).abs() < 1e-9, "{ratio:?}");
        assert!(value("sum(rate(r{status=~\"5..\"}[5m])) / sum(rate(r[5m])) > 0.05", &h).is_empty());
        assert_eq!(value("sum(rate(r{status=~\"5..\"}[5m])) / sum(rate(r[5m])) > 0.005", &h).len(), 1);
    }

    #[test]
    fn counter_resets_are_not_negative_rates() {
        let h = history(&["c 100", "c 160", "c 30"], 10);
        // Increase 90 over 20 s of samples, extended by 5 s at the start (half an interval),
        // the range of 60 s: 90 * 25/20 / 60.
        let r = value("rate(c[1m])", &h);
        assert!((r[0] - 90.0 * 25.0 / 20.0 / 60.0).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn histogram_quantile_interpolates_in_the_bucket() {
        let h = history(
            &[
                "h_bucket{le=\"0.1\"} 0\nh_bucket{le=\"0.25\"} 0\nh_bucket{le=\"+Inf\"} 0",
                "h_bucket{le=\"0.1\"} 0\nh_bucket{le=\"0.25\"} 100\nh_bucket{le=\"+Inf\"} 100",
            ],
            60,
        );
        let p95 = value("histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m])))", &h);
        assert!((p95[0] - (0.1 + 0.15 * 0.95)).abs() < 1e-9, "{p95:?}");
    }

    #[test]
    fn gauges_ratios_and_and() {
        let h = history(&["rss 900\nlimit 1000\nhits 1\nall 2"], 60);
        assert_eq!(value("rss / limit > 0.8", &h), [0.9]);
        assert!(value("rss / limit > 0.95", &h).is_empty());
        assert_eq!(value("(hits / all < 0.85) and all > 1", &h), [0.5]);
        assert!(value("(hits / all < 0.85) and all > 5", &h).is_empty());
        assert!(value("missing_metric == 1", &h).is_empty(), "no data, no alert");
    }
}
