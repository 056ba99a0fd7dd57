//! Route handlers, one module per resource.

pub mod admin;
pub mod alerts;
pub mod health;
pub mod mcp;
pub mod memories;
pub mod ops;
pub mod search;
