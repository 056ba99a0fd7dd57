//! The performance history behind `GET /api/performance`: a recorder that aggregates requests
//! per route template and minute (count, 5xx errors, a latency histogram) and result-cache
//! lookups, flushed each minute into the store (`perf_minutes`, kept `perf.retention_days`), and
//! the report: p50/p95/p99, error rate, throughput and cache hit rate over the last N hours,
//! with baselines (the trailing 24 hours, and the same hours of the previous 7 days). No external
//! Prometheus needed. Memory is bounded: one row per route template per unflushed minute.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use memd_store::perf::{PerfMinute, SEARCH_CACHE_SERIES};
use memd_store::{Store, StoreError};
use parking_lot::Mutex;
use serde::Serialize;

use crate::metrics::LATENCY_BUCKETS;
use crate::service::{MemoryService, Result};
use crate::ServiceError;

/// Hours `/api/performance` looks back at most (its baselines reach 7 days further).
pub const MAX_HOURS: u32 = 168;

fn bucket_of(latency: Duration) -> usize {
    let s = latency.as_secs_f64();
    LATENCY_BUCKETS.iter().position(|b| s <= *b).unwrap_or(LATENCY_BUCKETS.len())
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

/// Aggregates the current (and not yet flushed) minutes.
#[derive(Default)]
pub struct PerfRecorder {
    /// Records nothing (`observe.metrics = false`).
    off: bool,
    /// By series, then minute (looked up by `&str`: no allocation per request).
    open: Mutex<HashMap<String, BTreeMap<i64, PerfMinute>>>,
    /// Held while minutes move from memory to the store, and while a report reads both, so a
    /// report never counts a minute twice or misses it.
    moving: Mutex<()>,
}

impl PerfRecorder {
    /// A recorder that records, or (`enabled = false`) one that ignores everything.
    pub fn new(enabled: bool) -> Self {
        Self { off: !enabled, ..Self::default() }
    }

    fn row(&self, series: &str, f: impl FnOnce(&mut PerfMinute)) {
        if self.off {
            return;
        }
        let minute = minute_of(Utc::now());
        let mut open = self.open.lock();
        if !open.contains_key(series) {
            open.insert(series.to_owned(), BTreeMap::new());
        }
        let Some(minutes) = open.get_mut(series) else { return };
        let row = minutes.entry(minute).or_insert_with(|| PerfMinute {
            minute,
            series: series.to_owned(),
            latency: vec![0; LATENCY_BUCKETS.len() + 1],
            ..PerfMinute::default()
        });
        f(row)
    }

    /// One request to `route` (a route template), failed when it answered 5xx.
    pub fn request(&self, route: &str, failed: bool, latency: Duration) {
        self.row(route, |r| {
            r.requests += 1;
            r.errors += u64::from(failed);
            r.latency[bucket_of(latency)] += 1;
        });
    }

    /// One result-cache lookup.
    pub fn cache_lookup(&self, hit: bool) {
        self.row(SEARCH_CACHE_SERIES, |r| {
            r.requests += 1;
            r.errors += u64::from(!hit);
        });
    }

    fn snapshot(&self) -> Vec<PerfMinute> {
        self.open.lock().values().flat_map(|m| m.values().cloned()).collect()
    }

    /// Moves the minutes before `now` (unix minutes) into `store`; returns how many rows.
    pub fn flush_into(&self, store: &dyn Store, now: i64) -> Result<usize, StoreError> {
        let _moving = self.moving.lock();
        let done: Vec<PerfMinute> =
            self.open.lock().values().flat_map(|m| m.range(..now).map(|(_, r)| r.clone())).collect();
        store.put_perf(&done)?;
        let mut open = self.open.lock();
        for minutes in open.values_mut() {
            minutes.retain(|minute, _| *minute >= now);
        }
        open.retain(|_, minutes| !minutes.is_empty());
        Ok(done.len())
    }

    /// Reads each window (`from <= minute < to`) from the store and memory together, every minute
    /// exactly once even while a flush runs.
    fn windows(&self, store: &dyn Store, ranges: &[(i64, i64)]) -> Result<Vec<Vec<PerfMinute>>, StoreError> {
        let _moving = self.moving.lock();
        let open = self.snapshot();
        ranges
            .iter()
            .map(|&(from, to)| {
                let mut rows = store.perf_range(from, to)?;
                rows.extend(open.iter().filter(|r| (from..to).contains(&r.minute)).cloned());
                Ok(rows)
            })
            .collect()
    }
}

/// Request statistics over a set of minutes.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct PerfStats {
    pub requests: u64,
    pub errors: u64,
    /// 5xx answers / requests (0 without requests).
    pub error_rate: f64,
    /// Requests per second over the window.
    pub throughput_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct CacheStats {
    pub lookups: u64,
    pub hits: u64,
    /// `None` without lookups.
    pub hit_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baselines {
    /// The 24 hours up to now.
    pub trailing_24h: PerfStats,
    /// The same window on each of the previous 7 days, together (windows of up to 24 hours;
    /// longer ones would overlap each other and the window itself).
    pub same_hours_last_7d: Option<PerfStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerformanceReport {
    pub hours: u32,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Every route together.
    pub overall: PerfStats,
    /// By route template.
    pub routes: BTreeMap<String, PerfStats>,
    pub cache: CacheStats,
    pub baselines: Baselines,
}

/// The `q` quantile of a histogram over [`LATENCY_BUCKETS`], interpolated linearly inside its
/// bucket as Prometheus' `histogram_quantile` does (the overflow bucket answers its lower bound).
pub fn quantile(hist: &[u64], q: f64) -> Option<f64> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut seen = 0u64;
    for (i, &n) in hist.iter().enumerate() {
        if n > 0 && (seen + n) as f64 >= rank {
            let lower = if i == 0 { 0.0 } else { LATENCY_BUCKETS[i - 1] };
            let Some(&upper) = LATENCY_BUCKETS.get(i) else { return Some(lower) };
            let within = ((rank - seen as f64) / n as f64).clamp(0.0, 1.0);
            return Some(lower + (upper - lower) * within);
        }
        seen += n;
    }
    LATENCY_BUCKETS.last().copied()
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Statistics of `rows` (request series only) over a window of `seconds`.
pub fn stats<'a>(rows: impl Iterator<Item = &'a PerfMinute>, seconds: f64) -> PerfStats {
    let mut sum = PerfMinute::default();
    for r in rows.filter(|r| r.series != SEARCH_CACHE_SERIES) {
        sum.merge(r);
    }
    let ms = |q| quantile(&sum.latency, q).map(|s| round(s * 1000.0, 3));
    PerfStats {
        requests: sum.requests,
        errors: sum.errors,
        error_rate: if sum.requests == 0 { 0.0 } else { round(sum.errors as f64 / sum.requests as f64, 6) },
        throughput_per_s: round(sum.requests as f64 / seconds.max(1.0), 3),
        p50_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
    }
}

fn cache(rows: &[PerfMinute]) -> CacheStats {
    let (lookups, misses) = rows
        .iter()
        .filter(|r| r.series == SEARCH_CACHE_SERIES)
        .fold((0, 0), |(l, m), r| (l + r.requests, m + r.errors));
    let hits = lookups - misses.min(lookups);
    CacheStats { lookups, hits, hit_rate: (lookups > 0).then(|| round(hits as f64 / lookups as f64, 4)) }
}

impl MemoryService {
    pub fn perf(&self) -> &PerfRecorder {
        &self.inner.perf
    }

    /// Moves finished minutes from memory into the store; returns how many rows.
    pub async fn flush_perf(&self) -> Result<usize> {
        self.blocking(|i| Ok(i.perf.flush_into(i.store.as_ref(), minute_of(Utc::now()))?)).await
    }

    /// Deletes history older than `perf.retention_days`.
    pub async fn prune_perf(&self) -> Result<u64> {
        let days = i64::from(self.config().perf.retention_days);
        let before = minute_of(Utc::now()) - days * 24 * 60;
        self.blocking(move |i| Ok(i.store.prune_perf(before)?)).await
    }

    /// The report of `/api/performance?hours=N`.
    pub async fn performance(&self, hours: u32) -> Result<PerformanceReport> {
        if hours == 0 || hours > MAX_HOURS {
            return Err(ServiceError::invalid("invalid_hours", format!("hours must be 1-{MAX_HOURS}")));
        }
        self.blocking(move |i| {
            let now = Utc::now();
            let end = minute_of(now) + 1;
            let span = i64::from(hours) * 60;
            let day = 24 * 60;
            // The window, the trailing day, then the same window on each of the last 7 days.
            let mut ranges = vec![(end - span, end), (end - day, end)];
            let daily = span <= day;
            if daily {
                ranges.extend((1..=7).map(|d| (end - d * day - span, end - d * day)));
            }
            let mut windows = i.perf.windows(i.store.as_ref(), &ranges)?.into_iter();
            let window = windows.next().unwrap_or_default();
            let trailing = windows.next().unwrap_or_default();
            let last_week: Vec<PerfMinute> = windows.flatten().collect();
            let mut by_route: BTreeMap<String, Vec<&PerfMinute>> = BTreeMap::new();
            for r in window.iter().filter(|r| r.series != SEARCH_CACHE_SERIES) {
                by_route.entry(r.series.clone()).or_default().push(r);
            }
            let seconds = (span * 60) as f64;
            Ok(PerformanceReport {
                hours,
                from: now - chrono::Duration::hours(i64::from(hours)),
                to: now,
                overall: stats(window.iter(), seconds),
                routes: by_route.into_iter().map(|(k, v)| (k, stats(v.into_iter(), seconds))).collect(),
                cache: cache(&window),
                baselines: Baselines {
                    trailing_24h: stats(trailing.iter(), (day * 60) as f64),
                    same_hours_last_7d: daily.then(|| stats(last_week.iter(), seconds * 7.0)),
                },
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_buckets_like_prometheus() {
        // 100 requests between 5 and 10 ms (the bucket (0.005, 0.01]).
        let mut hist = vec![0; LATENCY_BUCKETS.len() + 1];
        hist[bucket_of(Duration::from_millis(7))] += 100;
        let p50 = quantile(&hist, 0.5).expect("p50");
        assert!((p50 - 0.0075).abs() < 1e-9, "{p50}");
        assert!((quantile(&hist, 0.95).expect("p95") - 0.00975).abs() < 1e-9);
        assert_eq!(quantile(&vec![0; hist.len()], 0.5), None);
        let mut slow = vec![0; LATENCY_BUCKETS.len() + 1];
        slow[LATENCY_BUCKETS.len()] = 3;
        assert_eq!(
            quantile(&slow, 0.99),
            LATENCY_BUCKETS.last().copied(),
            "overflow answers its lower bound"
        );
    }

    #[test]
    fn a_flush_moves_finished_minutes_and_reads_count_each_once() {
        let store = memd_store::sqlite::SqliteStore::open_in_memory().expect("store");
        let rec = PerfRecorder::default();
        let now = minute_of(Utc::now());
        rec.request("/v1/search", false, Duration::from_millis(3));
        // A finished minute, as if recorded five minutes ago.
        let old = PerfMinute {
            minute: now - 5,
            series: "/v1/search".into(),
            requests: 7,
            errors: 1,
            latency: vec![7],
        };
        rec.open.lock().entry("/v1/search".into()).or_default().insert(now - 5, old);
        let before = rec.windows(&store, &[(now - 60, now + 1)]).expect("read");
        assert_eq!(before[0].iter().map(|r| r.requests).sum::<u64>(), 8);
        assert_eq!(rec.flush_into(&store, now).expect("flush"), 1, "only the finished minute moves");
        assert_eq!(store.perf_range(0, i64::MAX).expect("stored").len(), 1);
        assert_eq!(rec.snapshot().len(), 1, "the current minute stays in memory");
        let after = rec.windows(&store, &[(now - 60, now + 1), (now - 60, now - 1)]).expect("read");
        assert_eq!(after[0].iter().map(|r| r.requests).sum::<u64>(), 8, "nothing lost or counted twice");
        assert_eq!(after[1].iter().map(|r| r.requests).sum::<u64>(), 7);
    }

    #[test]
    fn stats_count_errors_and_throughput_and_leave_the_cache_series_out() {
        let rec = PerfRecorder::default();
        for i in 0..100 {
            rec.request("/v1/search", i % 10 == 0, Duration::from_millis(3));
        }
        rec.cache_lookup(true);
        rec.cache_lookup(false);
        let rows = rec.snapshot();
        let s = stats(rows.iter(), 100.0);
        assert_eq!((s.requests, s.errors), (100, 10));
        assert!((s.error_rate - 0.1).abs() < 1e-9 && (s.throughput_per_s - 1.0).abs() < 1e-9, "{s:?}");
        assert!(s.p50_ms.is_some_and(|p| (2.5..=5.0).contains(&p)), "{s:?}");
        assert_eq!(cache(&rows), CacheStats { lookups: 2, hits: 1, hit_rate: Some(0.5) });
    }
}
