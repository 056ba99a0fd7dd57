//! Tool results: the structured content has the REST API's JSON shapes (a memory is the REST
//! memory object, a search answer is `{results, degraded, mode}`), and the text is what a model
//! reads: one line per memory, id first, so it can refer to memories in later calls.

use memd_core::{PromoteResponse, SearchHit, SearchResponse, TagInfo};
use memd_store::{HistoryEntry, Memory, Page};
use serde_json::{json, Value};

/// A memory as the REST API shows it (the tenant is implied by the caller, never shown).
pub(crate) fn memory(m: &Memory) -> Value {
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.remove("tenant");
    }
    v
}

fn hit(h: &SearchHit) -> Value {
    json!({"memory": memory(&h.memory), "score": h.score, "scores": h.scores})
}

/// `- <id> (<event date>) [tags] content`
fn line(m: &Memory) -> String {
    let date = m.event_time.unwrap_or(m.created_at).format("%Y-%m-%d");
    let tags = if m.tags.is_empty() { String::new() } else { format!(" [{}]", m.tags.join(", ")) };
    format!("- {} ({date}){tags} {}", m.id, m.content)
}

fn lines<'a>(header: String, memories: impl Iterator<Item = &'a Memory>) -> String {
    let mut text = header;
    for m in memories {
        text.push('\n');
        text.push_str(&line(m));
    }
    text
}

pub(crate) fn stored(m: &Memory, verb: &str) -> (String, Value) {
    (format!("{verb} memory {} for user {}:\n{}", m.id, m.user_id, line(m)), memory(m))
}

pub(crate) fn search(r: &SearchResponse) -> (String, Value) {
    let header = match r.results.len() {
        0 => "No memories matched.".to_owned(),
        n => format!("{n} memories, best first{}:", if r.degraded { " (keyword search only)" } else { "" }),
    };
    let text = lines(header, r.results.iter().map(|h| &h.memory));
    let results: Vec<Value> = r.results.iter().map(hit).collect();
    (text, json!({"results": results, "degraded": r.degraded, "mode": r.mode.as_str()}))
}

pub(crate) fn page(p: &Page<Memory>) -> (String, Value) {
    let more = match &p.next_cursor {
        Some(c) => format!(" (more: pass cursor \"{c}\")"),
        None => String::new(),
    };
    let text = lines(format!("{} memories{more}:", p.items.len()), p.items.iter());
    let memories: Vec<Value> = p.items.iter().map(memory).collect();
    (text, json!({"memories": memories, "next_cursor": p.next_cursor}))
}

pub(crate) fn history(id: uuid::Uuid, entries: &[HistoryEntry]) -> (String, Value) {
    let mut text = format!("History of memory {id}, oldest first:");
    for e in entries {
        let change = match (&e.old_content, &e.new_content) {
            (Some(old), Some(new)) if old != new => format!("{old:?} -> {new:?}"),
            (_, Some(new)) => format!("{new:?}"),
            (Some(old), None) => format!("{old:?}"),
            (None, None) => String::new(),
        };
        let event = serde_json::to_value(e.event).unwrap_or(Value::Null);
        text.push_str(&format!(
            "\n- {} {} {change}",
            e.created_at.format("%Y-%m-%d %H:%M:%S"),
            event.as_str().unwrap_or("")
        ));
    }
    (text, json!({"history": entries}))
}

pub(crate) fn promoted(r: &PromoteResponse) -> (String, Value) {
    let header = format!("{} memories to keep in context (tags: {}):", r.memories.len(), r.tags.join(", "));
    let text = lines(header, r.memories.iter().map(|h| &h.memory));
    let memories: Vec<Value> = r.memories.iter().map(hit).collect();
    (text, json!({"memories": memories, "tags": r.tags, "expanded": r.expanded}))
}

pub(crate) fn tags(tags: &[TagInfo]) -> (String, Value) {
    let mut text = format!("{} tags, most used first:", tags.len());
    for t in tags {
        text.push_str(&format!("\n- {} ({})", t.tag, t.count));
    }
    (text, json!({"tags": tags}))
}
