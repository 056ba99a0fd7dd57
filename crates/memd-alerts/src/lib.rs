//! memd-alerts is memd's built-in alert engine: the Prometheus alert rules memd ships
//! (`deploy/prometheus/alerts.yml`, or any file in that format) evaluated in-process, with or
//! without an external Prometheus, over memd's own metrics sampled at a fixed interval.
//!
//! - [`expr`]: the supported PromQL subset (selectors with `=`, `!=`, `=~` alternatives; `rate`;
//!   `sum [by]`; `histogram_quantile`; arithmetic, comparisons, `and`), parsed, with anything
//!   else refused by name;
//! - [`series`]: exposition text into series, and the bounded sample history;
//! - [`eval`]: PromQL semantics for the subset;
//! - [`rules`]: the rule-file format;
//! - [`engine`]: pending → firing → resolved with `for:` durations, one alert per rule and label
//!   set (no duplicates while a condition holds).

pub mod engine;
pub mod eval;
pub mod expr;
pub mod rules;
pub mod series;

pub use engine::{Alert, Engine, State, Transition};
pub use rules::{load, Rule, RulesError};

/// The rules memd ships, the same file Prometheus is given.
pub const SHIPPED_RULES: &str = include_str!("../../../deploy/prometheus/alerts.yml");
