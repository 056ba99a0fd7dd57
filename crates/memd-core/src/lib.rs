//! memd-core is the service layer: [`MemoryService`] with one function per operation (add,
//! get, update, delete, list, history, search, promote, tags), shared by every transport; hybrid
//! retrieval and fusion; the background embedding pipeline; the indexer that keeps derived
//! indexes in step with the store's change log; callers, keys and local mode; and the typed
//! configuration.

pub mod admin;
pub mod auth;
mod bootstrap;
pub mod config;
pub mod context;
mod error;
pub mod events;
pub mod fusion;
pub mod graph;
pub mod indexer;
pub mod metrics;
pub mod perf;
pub mod pipeline;
pub mod promote;
pub mod reload;
mod result_cache;
pub mod search;
pub mod service;
pub mod stored;
pub mod validate;

pub use auth::{Authenticator, Caller, DEFAULT_USER};
pub use bootstrap::{build_embedder, open, open_with, StartupReport};
pub use config::Config;
pub use error::{ErrorCode, ServiceError};
pub use promote::{PromoteRequest, PromoteResponse, TagInfo};
pub use reload::ReloadReport;
pub use search::{Scores, SearchHit, SearchMode, SearchRequest, SearchResponse};
pub use service::{AddMemory, FilterParams, MemoryService};
