//! Per-operation latency histograms (microseconds, HdrHistogram), error counts by status, and
//! their summaries as JSON and as a table.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::mix::Op;

/// Highest latency tracked exactly enough (60 s); slower requests are clamped to it.
const MAX_US: u64 = 60_000_000;

/// What one worker (or the merged run) saw for one operation.
#[derive(Debug, Clone)]
pub struct OpStats {
    latency_us: Histogram<u64>,
    /// Error counts keyed by HTTP status (`"503"`) or `"transport"`.
    errors: BTreeMap<String, u64>,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats {
            latency_us: Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds"),
            errors: BTreeMap::new(),
        }
    }
}

impl OpStats {
    pub fn ok(&mut self, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, MAX_US);
        self.latency_us.saturating_record(us);
    }

    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &OpStats) {
        self.latency_us.add(&other.latency_us).expect("same histogram bounds");
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    pub fn count(&self) -> u64 {
        self.latency_us.len()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn summary(&self, elapsed: Duration) -> OpSummary {
        let h = &self.latency_us;
        let q = |p: f64| if h.is_empty() { 0 } else { h.value_at_quantile(p) };
        OpSummary {
            count: self.count(),
            ops_per_s: round2(self.count() as f64 / elapsed.as_secs_f64().max(1e-9)),
            mean_us: if h.is_empty() { 0 } else { h.mean().round() as u64 },
            p50_us: q(0.50),
            p95_us: q(0.95),
            p99_us: q(0.99),
            max_us: if h.is_empty() { 0 } else { h.max() },
            errors: self.error_count(),
            errors_by_status: self.errors.clone(),
        }
    }
}

/// Per-operation statistics, one slot per [`Op`].
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub ops: [OpStats; 4],
}

impl RunStats {
    pub fn op(&mut self, op: Op) -> &mut OpStats {
        &mut self.ops[op.index()]
    }

    pub fn merge(&mut self, other: &RunStats) {
        for (a, b) in self.ops.iter_mut().zip(&other.ops) {
            a.merge(b);
        }
    }

    /// Summaries of the operations that ran (or were configured), by name.
    pub fn summaries(&self, elapsed: Duration, wanted: &[Op]) -> BTreeMap<&'static str, OpSummary> {
        Op::ALL
            .into_iter()
            .filter(|op| {
                let s = &self.ops[op.index()];
                wanted.contains(op) || s.count() + s.error_count() > 0
            })
            .map(|op| (op.name(), self.ops[op.index()].summary(elapsed)))
            .collect()
    }
}

/// The reported numbers of one operation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OpSummary {
    pub count: u64,
    pub ops_per_s: f64,
    pub mean_us: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub errors: u64,
    pub errors_by_status: BTreeMap<String, u64>,
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// The human-readable table (milliseconds).
pub fn table(summaries: &BTreeMap<&'static str, OpSummary>) -> String {
    let mut out = format!(
        "{:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
        "op", "count", "ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
    );
    let mut rows: Vec<_> = summaries.iter().collect();
    rows.sort_by_key(|(name, _)| Op::ALL.iter().position(|op| op.name() == **name));
    for (name, s) in rows {
        out += &format!(
            "{:<8} {:>9} {:>9.1} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
            name,
            s.count,
            s.ops_per_s,
            ms(s.p50_us),
            ms(s.p95_us),
            ms(s.p99_us),
            ms(s.max_us),
            s.errors
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(actual: u64, expected: u64) -> bool {
        actual.abs_diff(expected) * 1000 <= expected.max(1) * 2
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut s = OpStats::default();
        for ms_ in 1..=1000u64 {
            s.ok(Duration::from_micros(ms_ * 100));
        }
        s.error("503");
        s.error("503");
        s.error("transport");
        let sum = s.summary(Duration::from_secs(10));
        assert_eq!(sum.count, 1000);
        assert_eq!(sum.ops_per_s, 100.0);
        assert!(within(sum.p50_us, 50_000), "{sum:?}");
        assert!(within(sum.p95_us, 95_000), "{sum:?}");
        assert!(within(sum.p99_us, 99_000), "{sum:?}");
        assert!(within(sum.max_us, 100_000), "{sum:?}");
        assert!(within(sum.mean_us, 50_050), "{sum:?}");
        assert_eq!(sum.errors, 3);
        assert_eq!(sum.errors_by_status["503"], 2);
    }

    #[test]
    fn merge_adds_counts_and_errors() {
        let mut a = RunStats::default();
        let mut b = RunStats::default();
        a.op(Op::Search).ok(Duration::from_millis(2));
        b.op(Op::Search).ok(Duration::from_millis(4));
        b.op(Op::Add).error("429");
        a.merge(&b);
        let s = a.summaries(Duration::from_secs(1), &[Op::Search, Op::Get]);
        assert_eq!(s["search"].count, 2);
        assert_eq!(s["add"].errors, 1);
        assert_eq!(s["get"].count, 0);
        assert_eq!(s["get"].p99_us, 0);
        assert!(!s.contains_key("promote"));
        let t = table(&s);
        assert!(t.lines().nth(1).unwrap().starts_with("search"), "{t}");
        assert_eq!(t.lines().count(), 4);
    }
}
