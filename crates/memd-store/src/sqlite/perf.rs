//! `perf_minutes`: upserted by merging (several processes may report the same minute), read by
//! time range, pruned by age.

use rusqlite::{params, Connection, OptionalExtension};

use super::codec;
use crate::perf::PerfMinute;
use crate::{Result, StoreError};

pub(super) fn put(c: &Connection, rows: &[PerfMinute]) -> Result<()> {
    for row in rows {
        let existing: Option<(i64, i64, String)> = c
            .prepare_cached(
                "SELECT requests, errors, latency FROM perf_minutes WHERE minute = ?1 AND series = ?2",
            )?
            .query_row(params![row.minute, row.series], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let mut merged = row.clone();
        if let Some((requests, errors, latency)) = existing {
            let latency: Vec<u64> = serde_json::from_str(&latency)
                .map_err(|e| StoreError::Corrupt(format!("perf latency: {e}")))?;
            merged.merge(&PerfMinute {
                requests: requests as u64,
                errors: errors as u64,
                latency,
                ..PerfMinute::default()
            });
        }
        c.prepare_cached(
            "INSERT OR REPLACE INTO perf_minutes (minute, series, requests, errors, latency) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            merged.minute,
            merged.series,
            merged.requests as i64,
            merged.errors as i64,
            codec::to_json(&merged.latency)?
        ])?;
    }
    Ok(())
}

/// Rows with `from <= minute < to`, by minute then series.
pub(super) fn range(c: &Connection, from: i64, to: i64) -> Result<Vec<PerfMinute>> {
    let mut stmt = c.prepare_cached(
        "SELECT minute, series, requests, errors, latency FROM perf_minutes
         WHERE minute >= ?1 AND minute < ?2 ORDER BY minute, series",
    )?;
    let rows = stmt.query(params![from, to])?;
    codec::collect(rows, |r| {
        let latency: String = r.get(4)?;
        Ok(PerfMinute {
            minute: r.get(0)?,
            series: r.get(1)?,
            requests: r.get::<_, i64>(2)? as u64,
            errors: r.get::<_, i64>(3)? as u64,
            latency: serde_json::from_str(&latency)
                .map_err(|e| StoreError::Corrupt(format!("perf latency: {e}")))?,
        })
    })
}

pub(super) fn prune(c: &Connection, before: i64) -> Result<u64> {
    Ok(c.prepare_cached("DELETE FROM perf_minutes WHERE minute < ?1")?.execute([before])? as u64)
}
