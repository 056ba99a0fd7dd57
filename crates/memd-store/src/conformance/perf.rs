//! Cases for the per-minute performance history.

use crate::perf::PerfMinute;
use crate::Store;

fn minute(minute: i64, series: &str, requests: u64, errors: u64, latency: &[u64]) -> PerfMinute {
    PerfMinute { minute, series: series.into(), requests, errors, latency: latency.to_vec() }
}

/// Reported minutes merge (two processes, or two flushes, report the same minute), read back by
/// range in order, and go when pruned.
pub fn perf_history(s: &dyn Store) {
    s.put_perf(&[minute(100, "/v1/search", 10, 1, &[5, 5, 0]), minute(101, "/v1/search", 4, 0, &[4, 0, 0])])
        .expect("put");
    s.put_perf(&[minute(100, "/v1/search", 2, 1, &[0, 1, 1]), minute(100, "/v1/memories", 3, 0, &[3])])
        .expect("merge");
    let rows = s.perf_range(100, 102).expect("range");
    assert_eq!(
        rows,
        [
            minute(100, "/v1/memories", 3, 0, &[3]),
            minute(100, "/v1/search", 12, 2, &[5, 6, 1]),
            minute(101, "/v1/search", 4, 0, &[4, 0, 0]),
        ]
    );
    assert_eq!(s.perf_range(101, 200).expect("range").len(), 1, "from is inclusive, to exclusive");
    assert_eq!(s.prune_perf(101).expect("prune"), 2);
    assert_eq!(s.perf_range(0, i64::MAX).expect("range").len(), 1);
}
