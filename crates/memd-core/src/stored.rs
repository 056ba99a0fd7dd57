//! The `memd_memories_stored{tenant}` gauge: live memories per tenant, re-counted in the
//! store when the change log has moved (at most every [`MIN_RECOUNT`]) and otherwise every
//! [`RECOUNT`] (expiry changes counts without a write), however often it is scraped. The
//! [`TOP_TENANTS`] largest tenants get their own series and the rest are summed under [`OTHER`]
//! (not a valid tenant id), so at most 51 series carry a value; a tenant that drops out is set
//! to 0 rather than left showing its last count.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::metrics as m;
use crate::service::{MemoryService, Result};

/// How long a count is reused while nothing is written.
pub const RECOUNT: Duration = Duration::from_secs(60);
/// How long a count is reused at least, writes or not.
pub const MIN_RECOUNT: Duration = Duration::from_secs(1);
/// Tenants with a series of their own.
pub const TOP_TENANTS: usize = 50;
/// The label value the other tenants are summed under.
pub const OTHER: &str = "(other)";

/// When the gauge was last counted, and which tenant labels it has shown.
#[derive(Default)]
pub struct StoredGauge {
    /// When, and at which change-log position, the last count was taken.
    counted: Mutex<Option<(Instant, i64)>>,
    shown: Mutex<HashSet<String>>,
}

impl MemoryService {
    /// Re-counts live memories per tenant into the gauge when the count may have changed.
    pub async fn refresh_stored_gauge(&self) -> Result<()> {
        if !self.config().observe.metrics {
            return Ok(());
        }
        let seq = self.inner.indexer.applied().0;
        {
            let mut counted = self.inner.stored_gauge.counted.lock();
            if counted.is_some_and(|(at, at_seq)| !due(at.elapsed(), at_seq != seq)) {
                return Ok(());
            }
            *counted = Some((Instant::now(), seq));
        }
        let counts = self.blocking(|i| Ok(i.store.count_by_tenant()?)).await?;
        let rows = fold(counts, TOP_TENANTS);
        let mut shown = self.inner.stored_gauge.shown.lock();
        for (tenant, n) in &rows {
            ::metrics::gauge!(m::MEMORIES_STORED, "tenant" => tenant.clone()).set(*n as f64);
        }
        let now: HashSet<String> = rows.into_iter().map(|(t, _)| t).collect();
        for gone in shown.difference(&now) {
            ::metrics::gauge!(m::MEMORIES_STORED, "tenant" => gone.clone()).set(0.0);
        }
        shown.extend(now);
        Ok(())
    }
}

/// Whether a count taken `age` ago is to be taken again.
fn due(age: Duration, written_since: bool) -> bool {
    age >= RECOUNT || (written_since && age >= MIN_RECOUNT)
}

/// The `top` largest tenants (ties by name), and the rest summed under [`OTHER`] if any.
fn fold(mut counts: Vec<(String, u64)>, top: usize) -> Vec<(String, u64)> {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if counts.len() <= top {
        return counts;
    }
    let rest: u64 = counts.drain(top..).map(|(_, n)| n).sum();
    counts.push((OTHER.to_owned(), rest));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[(&str, u64)]) -> Vec<(String, u64)> {
        v.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    #[test]
    fn the_largest_tenants_keep_their_series_and_the_rest_are_summed() {
        let counts = rows(&[("a", 5), ("b", 50), ("c", 7), ("d", 7)]);
        assert_eq!(fold(counts.clone(), 4), rows(&[("b", 50), ("c", 7), ("d", 7), ("a", 5)]));
        assert_eq!(fold(counts, 2), rows(&[("b", 50), ("c", 7), ("(other)", 12)]));
        assert_eq!(fold(Vec::new(), 2), Vec::new());
    }

    #[test]
    fn counts_are_retaken_soon_after_writes_and_rarely_without() {
        assert!(!due(Duration::from_millis(500), true));
        assert!(due(MIN_RECOUNT, true));
        assert!(!due(Duration::from_secs(30), false));
        assert!(due(RECOUNT, false));
    }
}
