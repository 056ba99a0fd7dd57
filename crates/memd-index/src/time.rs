//! Time keys shared by both indexes: a filter time as an `i64` of nanoseconds since the epoch.
//!
//! Nanoseconds keep comparisons exact for every time chrono can produce between the years 1677
//! and 2262; times outside that range saturate to `i64::MIN`/`i64::MAX`, which only matters when
//! both a memory's time and a filter bound lie outside it on the same side.

use chrono::{DateTime, Utc};
use memd_store::{Filter, Memory};

/// `t` as nanoseconds since the Unix epoch, saturating outside the representable range.
pub(crate) fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 { i64::MIN } else { i64::MAX })
}

/// The two times a memory can be filtered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DocTimes {
    /// `event_time`, falling back to `created_at`.
    pub event: i64,
    pub created: i64,
}

impl DocTimes {
    pub fn of(m: &Memory) -> Self {
        Self { event: nanos(m.event_time.unwrap_or(m.created_at)), created: nanos(m.created_at) }
    }
}

/// A filter's time range as nanosecond bounds: `lo` inclusive, `hi` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub lo: Option<i64>,
    pub hi: Option<i64>,
}

impl TimeRange {
    pub fn of(filter: &Filter) -> Self {
        Self { lo: filter.after.map(nanos), hi: filter.before.map(nanos) }
    }

    pub fn is_unbounded(&self) -> bool {
        self.lo.is_none() && self.hi.is_none()
    }

    pub fn contains(&self, t: i64) -> bool {
        self.lo.is_none_or(|lo| t >= lo) && self.hi.is_none_or(|hi| t < hi)
    }
}
