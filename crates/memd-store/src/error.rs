use thiserror::Error;

/// Errors of the storage layer. Messages of `Invalid` and `NotFound` may reach callers; `Backend`
/// and `Corrupt` are logged and reported as internal errors; `Unavailable` is the environment
/// refusing (a read-only or full volume, an I/O error, a lock held too long): the operation did
/// not happen and may succeed when retried.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage backend error: {0}")]
    Backend(String),
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(
                C::ReadOnly
                | C::DiskFull
                | C::SystemIoFailure
                | C::CannotOpen
                | C::DatabaseBusy
                | C::DatabaseLocked,
            ) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn environmental_sqlite_failures_are_unavailable_and_the_rest_backend_errors() {
        use rusqlite::ffi;
        let environmental = [
            ffi::SQLITE_READONLY,
            ffi::SQLITE_FULL,
            ffi::SQLITE_IOERR,
            ffi::SQLITE_IOERR_WRITE,
            ffi::SQLITE_IOERR_FSYNC,
            ffi::SQLITE_BUSY,
            ffi::SQLITE_LOCKED,
            ffi::SQLITE_CANTOPEN,
        ];
        for code in environmental {
            assert!(matches!(StoreError::from(sqlite(code)), StoreError::Unavailable(_)), "{code}");
        }
        for code in [ffi::SQLITE_CONSTRAINT, ffi::SQLITE_MISMATCH, ffi::SQLITE_CORRUPT] {
            assert!(matches!(StoreError::from(sqlite(code)), StoreError::Backend(_)), "{code}");
        }
        assert!(matches!(StoreError::from(rusqlite::Error::QueryReturnedNoRows), StoreError::Backend(_)));
    }
}
