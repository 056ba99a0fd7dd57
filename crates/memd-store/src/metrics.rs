//! Names of the metrics the storage layer records (described by memd-core with the others).

/// Store call latency by kind (`read`, `snapshot`: a read transaction, `write`: a group-committed
/// write, fsync included), waiting for a connection included.
pub const STORE_SECONDS: &str = "memd_store_operation_duration_seconds";
/// Read connections in use.
pub const STORE_READERS_BUSY: &str = "memd_store_readers_busy";
