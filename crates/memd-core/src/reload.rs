//! Configuration reload without a restart. Settings that are read per request (search defaults,
//! validation limits, retention, alerting, the admin token, the log filter) take effect at once;
//! the others (listener, storage, model, tower layers, …) keep their running values and are named
//! as needing a restart — like PostgreSQL's `pending_restart`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::service::MemoryService;
use crate::ServiceError;

/// Dotted keys (or key prefixes ending in `.`) a reload applies without a restart.
pub const RELOADABLE: &[&str] = &[
    "log_level",
    "admin_token",
    "search.default_top_k",
    "search.max_top_k",
    "search.candidates",
    "search.fusion",
    "search.rrf_k",
    "search.semantic_weight",
    "search.feedback_docs",
    "search.feedback_weight",
    "search.context_weight",
    "search.context_gap_secs",
    "limits.max_content_bytes",
    "limits.max_tags",
    "limits.max_tag_bytes",
    "limits.max_metadata_depth",
    "limits.max_metadata_bytes",
    "limits.max_id_bytes",
    "limits.max_batch",
    "limits.max_list_limit",
    "events.",
    "perf.",
    "alerts.rules_file",
    "alerts.eval_interval_ms",
    "alerts.webhooks",
    "alerts.notify_attempts",
    "alerts.notify_timeout_ms",
];

/// What a reload did: changed settings it applied, and changed settings that keep their running
/// value until a restart. Names only — never values (some are secrets).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReloadReport {
    pub applied: Vec<String>,
    pub restart_required: Vec<String>,
    /// Applied settings that did not fully take (a rule file that no longer parses, …).
    pub problems: Vec<String>,
}

impl ReloadReport {
    /// Whether any applied key starts with `prefix`.
    pub fn applied_under(&self, prefix: &str) -> bool {
        self.applied.iter().any(|k| k.starts_with(prefix))
    }
}

fn reloadable(key: &str) -> bool {
    RELOADABLE.iter().any(|r| if r.ends_with('.') { key.starts_with(r) } else { key == *r })
}

impl MemoryService {
    /// Applies the reloadable settings of `new` (already validated by [`Config::load`]) and
    /// reports which changed settings need a restart instead.
    pub fn reconfigure(&self, new: Config) -> Result<ReloadReport, ServiceError> {
        let current = self.config();
        let (next, report) = merge(&current, &new)?;
        if report.applied.is_empty() {
            return Ok(report);
        }
        // The new values must hold together with the running ones they will live beside (a
        // larger `limits.max_content_bytes` needs the larger body limit only a restart brings).
        next.validate().map_err(|e| {
            let why = format!("{e} (checked against the running values of settings that need a restart)");
            ServiceError::invalid("invalid_config", why)
        })?;
        if report.applied.iter().any(|k| k == "admin_token") {
            self.inner.auth.set_admin_token(next.admin_token.clone());
        }
        self.inner.cfg.store(Arc::new(next));
        Ok(report)
    }
}

/// The running configuration with the reloadable values of `new`, and what changed.
fn merge(current: &Config, new: &Config) -> Result<(Config, ReloadReport), ServiceError> {
    let internal = |e: serde_json::Error| ServiceError::Internal(format!("config reload: {e}"));
    let mut running = serde_json::to_value(current).map_err(internal)?;
    let wanted = serde_json::to_value(new).map_err(internal)?;
    let mut report = ReloadReport::default();
    let mut changed = Vec::new();
    diff("", &running, &wanted, &mut changed);
    for (key, value) in changed {
        if reloadable(&key) {
            set(&mut running, &key, value);
            report.applied.push(key);
        } else {
            report.restart_required.push(key);
        }
    }
    let next: Config = serde_json::from_value(running).map_err(internal)?;
    Ok((next, report))
}

/// Dotted keys whose values differ between `a` and `b`, with `b`'s value. Objects are walked;
/// anything else (arrays included) compares whole.
fn diff(prefix: &str, a: &Value, b: &Value, out: &mut Vec<(String, Value)>) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                diff(&key, a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), out);
            }
        }
        (a, b) if a != b => out.push((prefix.to_owned(), b.clone())),
        _ => {}
    }
}

fn set(root: &mut Value, key: &str, value: Value) {
    let mut node = root;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { return };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        node = map.entry(part.to_owned()).or_insert(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reloadable_settings_apply_and_the_rest_are_reported_and_kept() {
        let current = Config::default();
        let mut new = Config::default();
        new.search.default_top_k = 3;
        new.log_level = "debug".into();
        new.alerts.webhooks.push(crate::config::WebhookConfig {
            url: "http://127.0.0.1:9/hook".into(),
            format: crate::config::WebhookFormat::Slack,
        });
        new.listen = "127.0.0.1:9999".parse().expect("addr");
        new.storage.readers = 9;
        new.limits.max_concurrency = 7;
        let (next, report) = merge(&current, &new).expect("merge");
        assert_eq!(report.applied, ["alerts.webhooks", "log_level", "search.default_top_k"]);
        assert_eq!(report.restart_required, ["limits.max_concurrency", "listen", "storage.readers"]);
        assert_eq!(next.search.default_top_k, 3);
        assert_eq!(next.log_level, "debug");
        assert_eq!(next.alerts.webhooks.len(), 1);
        assert_eq!(next.listen, current.listen);
        assert_eq!(next.storage.readers, current.storage.readers);
        assert_eq!(next.limits.max_concurrency, current.limits.max_concurrency);
    }

    #[test]
    fn an_unchanged_configuration_reports_nothing_and_a_set_token_is_named_not_shown() {
        let (_, report) = merge(&Config::default(), &Config::default()).expect("merge");
        assert_eq!(report, ReloadReport::default());
        let new = Config { admin_token: Some("a-very-secret-token-123".into()), ..Config::default() };
        let (next, report) = merge(&Config::default(), &new).expect("merge");
        assert_eq!(report.applied, ["admin_token"]);
        assert_eq!(next.admin_token, new.admin_token);
        assert!(!serde_json::to_string(&report).expect("json").contains("secret"));
    }

    #[test]
    fn new_values_are_checked_against_the_running_restart_only_ones() {
        let current = Config::default();
        let mut new = Config::default();
        new.limits.max_content_bytes = current.limits.max_body_bytes * 2;
        new.limits.max_body_bytes = current.limits.max_body_bytes * 3;
        assert!(new.validate().is_ok(), "valid on its own");
        let (next, report) = merge(&current, &new).expect("merge");
        assert_eq!(report.restart_required, ["limits.max_body_bytes"]);
        assert!(next.validate().is_err(), "but not beside the running body limit");
    }

    #[test]
    fn prefixes_cover_whole_sections_and_exact_keys_only_themselves() {
        assert!(reloadable("events.retention_days"));
        assert!(reloadable("alerts.webhooks"));
        assert!(!reloadable("alerts.enabled"));
        assert!(!reloadable("search.result_cache_mb"));
        assert!(!reloadable("log_level_x"));
    }
}
