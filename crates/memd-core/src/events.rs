//! Operational events through the service: recording never fails the operation that reports
//! (a failure is logged), reading is bounded, and retention follows `events.*` settings.

use chrono::{Duration, Utc};
use memd_store::events::{Event, EventQuery, NewEvent, Severity, Silence};

use crate::service::{MemoryService, Result};
use crate::ServiceError;

/// Events one read returns at most.
pub const MAX_EVENTS_PAGE: usize = 1000;

impl MemoryService {
    /// Records an event; logs (and otherwise ignores) a failure to store it.
    pub async fn record_event(&self, kind: &str, severity: Severity, details: serde_json::Value) {
        let e = NewEvent { kind: kind.to_owned(), severity, details };
        let recorded = self.blocking(move |i| Ok(i.store.record_event(&e, Utc::now())?)).await;
        if let Err(err) = recorded {
            tracing::warn!(event = "event_not_recorded", error_type = err.code().name(), kind, error = %err);
        }
    }

    /// Events newest first (`limit` 1..=1000).
    pub async fn events(&self, q: EventQuery) -> Result<Vec<Event>> {
        if q.limit == 0 || q.limit > MAX_EVENTS_PAGE {
            return Err(ServiceError::invalid("invalid_limit", format!("limit must be 1-{MAX_EVENTS_PAGE}")));
        }
        self.blocking(move |i| Ok(i.store.events(&q)?)).await
    }

    /// Applies the retention settings; returns how many events were deleted.
    pub async fn prune_events(&self) -> Result<u64> {
        let cfg = self.config().events.clone();
        let before = Utc::now() - Duration::days(i64::from(cfg.retention_days));
        self.blocking(move |i| Ok(i.store.prune_events(before, cfg.max_rows)?)).await
    }
}

impl MemoryService {
    /// Stores an alert silence; returns it with its id.
    pub async fn create_silence(&self, s: Silence) -> Result<Silence> {
        self.blocking(move |i| Ok(i.store.create_silence(&s, Utc::now())?)).await
    }

    /// Deletes a silence; `NotFound` when there is none with that id.
    pub async fn delete_silence(&self, id: i64) -> Result<()> {
        let found = self.blocking(move |i| Ok(i.store.delete_silence(id)?)).await?;
        found.then_some(()).ok_or(ServiceError::NotFound)
    }

    /// Silences that have not ended.
    pub async fn silences(&self) -> Result<Vec<Silence>> {
        self.blocking(|i| Ok(i.store.silences(Utc::now())?)).await
    }
}
