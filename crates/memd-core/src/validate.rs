//! Input validation against the configured limits. Every check fails with a stable error code
//! and a message that says what to change; nothing is stored when one fails.

use memd_store::{MemoryPatch, NewMemory};
use serde_json::{Map, Value};

use crate::config::LimitsConfig;
use crate::ServiceError;

pub fn new_memory(l: &LimitsConfig, m: &NewMemory) -> Result<(), ServiceError> {
    content(l, &m.content)?;
    id_field(l, "user_id", Some(&m.user_id))?;
    id_field(l, "agent_id", m.agent_id.as_deref())?;
    id_field(l, "app_id", m.app_id.as_deref())?;
    id_field(l, "session_id", m.session_id.as_deref())?;
    tags(l, &m.tags)?;
    metadata(l, &m.metadata)
}

pub fn patch(l: &LimitsConfig, p: &MemoryPatch) -> Result<(), ServiceError> {
    if p.is_empty() {
        return Err(ServiceError::invalid(
            "empty_patch",
            "nothing to update: give content, tags, metadata, event_time or expires_at",
        ));
    }
    if let Some(c) = &p.content {
        content(l, c)?;
    }
    if let Some(t) = &p.tags {
        tags(l, t)?;
    }
    if let Some(m) = &p.metadata {
        metadata(l, m)?;
    }
    Ok(())
}

pub fn content(l: &LimitsConfig, c: &str) -> Result<(), ServiceError> {
    if c.trim().is_empty() {
        return Err(ServiceError::invalid("invalid_content", "content must not be empty"));
    }
    if c.len() > l.max_content_bytes {
        return Err(ServiceError::TooLarge(format!(
            "content is {} bytes; the limit is {} bytes",
            c.len(),
            l.max_content_bytes
        )));
    }
    if c.contains('\0') {
        return Err(ServiceError::invalid("invalid_content", "content must not contain NUL characters"));
    }
    Ok(())
}

/// User, agent, app and session ids: non-empty, bounded, no control characters.
pub fn id_field(l: &LimitsConfig, name: &str, v: Option<&str>) -> Result<(), ServiceError> {
    let Some(v) = v else { return Ok(()) };
    if v.is_empty() || v.len() > l.max_id_bytes || v.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "invalid_id",
            format!("{name} must be 1-{} bytes without control characters", l.max_id_bytes),
        ));
    }
    Ok(())
}

pub fn tags(l: &LimitsConfig, tags: &[String]) -> Result<(), ServiceError> {
    if tags.len() > l.max_tags {
        return Err(ServiceError::invalid(
            "too_many_tags",
            format!("{} tags given; at most {} are allowed", tags.len(), l.max_tags),
        ));
    }
    for t in tags {
        if t.trim().is_empty() || t.len() > l.max_tag_bytes || t.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "invalid_tag",
                format!(
                    "tag {:?} is invalid: tags are 1-{} bytes, not blank, without control characters",
                    t.chars().take(40).collect::<String>(),
                    l.max_tag_bytes
                ),
            ));
        }
    }
    Ok(())
}

pub fn metadata(l: &LimitsConfig, m: &Map<String, Value>) -> Result<(), ServiceError> {
    let depth = m.values().map(depth_of).max().unwrap_or(0) + 1;
    if depth > l.max_metadata_depth {
        return Err(ServiceError::invalid(
            "metadata_too_deep",
            format!("metadata nests {depth} levels; at most {} are allowed", l.max_metadata_depth),
        ));
    }
    let size = serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > l.max_metadata_bytes {
        return Err(ServiceError::TooLarge(format!(
            "metadata is {size} bytes as JSON; the limit is {} bytes",
            l.max_metadata_bytes
        )));
    }
    Ok(())
}

/// Nesting depth of a JSON value: scalars 0, `{}`/`[]` 1, and so on. Iterative, so a hostile
/// document cannot overflow the stack here (serde_json itself stops at 128 levels).
fn depth_of(v: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(a) => {
                max = max.max(d + 1);
                stack.extend(a.iter().map(|c| (c, d + 1)));
            }
            Value::Object(o) => {
                max = max.max(d + 1);
                stack.extend(o.values().map(|c| (c, d + 1)));
            }
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> LimitsConfig {
        LimitsConfig::default()
    }

    fn mem(content: &str) -> NewMemory {
        NewMemory { user_id: "u".into(), content: content.into(), ..Default::default() }
    }

    #[test]
    fn content_rules() {
        assert!(new_memory(&limits(), &mem("fine")).is_ok());
        let e = new_memory(&limits(), &mem("  ")).unwrap_err();
        assert_eq!(e.code().name(), "invalid_content");
        let big = "x".repeat(64 * 1024 + 1);
        assert_eq!(new_memory(&limits(), &mem(&big)).unwrap_err().code().http_status(), 413);
    }

    #[test]
    fn tag_rules() {
        let mut m = mem("x");
        m.tags = (0..101).map(|i| format!("t{i}")).collect();
        assert_eq!(new_memory(&limits(), &m).unwrap_err().code().name(), "too_many_tags");
        m.tags = vec!["ok".into(), "bad\u{7}".into()];
        assert_eq!(new_memory(&limits(), &m).unwrap_err().code().name(), "invalid_tag");
        m.tags = vec!["ok".into(); 100];
        assert!(new_memory(&limits(), &m).is_ok());
    }

    #[test]
    fn metadata_depth() {
        let mut m = mem("x");
        m.metadata = json!({"a": {"b": 1}}).as_object().cloned().expect("object");
        assert!(new_memory(&limits(), &m).is_ok());
        let mut deep = json!(1);
        for _ in 0..10 {
            deep = json!({ "k": deep });
        }
        m.metadata = deep.as_object().cloned().expect("object");
        assert_eq!(new_memory(&limits(), &m).unwrap_err().code().name(), "metadata_too_deep");
    }

    #[test]
    fn ids_reject_control_characters() {
        let mut m = mem("x");
        m.user_id = "a\nb".into();
        assert_eq!(new_memory(&limits(), &m).unwrap_err().code().name(), "invalid_id");
        m.user_id = String::new();
        assert!(new_memory(&limits(), &m).is_err());
    }
}
