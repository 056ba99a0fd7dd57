//! Names of the metrics the service layer records, and their descriptions. The HTTP layer
//! installs the recorder; every metric is described here so the exposition lints clean.

pub const EMBED_PENDING: &str = "memd_embed_pending";
pub const EMBED_BATCH_SECONDS: &str = "memd_embed_batch_duration_seconds";
pub const EMBED_BATCH_SIZE: &str = "memd_embed_batch_size";
pub const EMBED_QUERY_SECONDS: &str = "memd_embed_query_duration_seconds";
pub const SEARCH_TOTAL: &str = "memd_search_requests_total";
pub const SEARCH_SECONDS: &str = "memd_search_duration_seconds";
pub const SEARCH_DEGRADED_TOTAL: &str = "memd_search_degraded_total";
pub const MEMORIES_WRITTEN_TOTAL: &str = "memd_memories_written_total";
pub const MEMORIES_STORED: &str = "memd_memories_stored";
pub const QUERY_CACHE_TOTAL: &str = "memd_embed_query_cache_total";
pub const SEARCH_RESULT_CACHE_TOTAL: &str = "memd_search_result_cache_total";
pub const INDEX_VECTORS: &str = "memd_index_vectors";
pub const INDEX_LEXICAL_DOCS: &str = "memd_index_lexical_docs";
pub const INDEX_BACKGROUND_JOBS: &str = "memd_index_background_jobs";

/// Histogram names and bucket boundaries (seconds unless the name says otherwise).
pub const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
pub const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Describes every service metric (call once after installing a recorder).
pub fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(EMBED_PENDING, "Memories acknowledged but not yet embedded.");
    describe_histogram!(EMBED_BATCH_SECONDS, Unit::Seconds, "Time to embed one background batch.");
    describe_histogram!(EMBED_BATCH_SIZE, Unit::Count, "Memories per background embedding batch.");
    describe_histogram!(EMBED_QUERY_SECONDS, Unit::Seconds, "Time to embed a search query (cache misses).");
    describe_counter!(SEARCH_TOTAL, "Searches by requested mode.");
    describe_histogram!(SEARCH_SECONDS, Unit::Seconds, "Search latency in the service layer by mode.");
    describe_counter!(SEARCH_DEGRADED_TOTAL, "Searches answered without the semantic signal.");
    describe_counter!(MEMORIES_WRITTEN_TOTAL, "Memory writes by operation.");
    describe_gauge!(
        MEMORIES_STORED,
        "Live memories by tenant (the 50 largest; the rest summed under tenant=\"(other)\")."
    );
    describe_counter!(QUERY_CACHE_TOTAL, "Query-embedding cache lookups by result (hit or miss).");
    describe_counter!(SEARCH_RESULT_CACHE_TOTAL, "Search result cache lookups by outcome (hit or miss).");
    describe_gauge!(INDEX_VECTORS, "Vectors in the vector index (all tenants).");
    describe_gauge!(INDEX_LEXICAL_DOCS, "Documents in the lexical index (all tenants).");
    describe_histogram!(
        memd_store::metrics::STORE_SECONDS,
        Unit::Seconds,
        "Store call latency by kind (read, snapshot, write incl. group commit and fsync)."
    );
    describe_gauge!(memd_store::metrics::STORE_READERS_BUSY, "Store read connections in use.");
    describe_gauge!(
        INDEX_BACKGROUND_JOBS,
        "Tenants with an ANN graph build or insert queued or running (0 when the index is settled)."
    );
}
