//! Reading the LoCoMo dataset the way `../shared/bench/locomo/README.md` prescribes: each turn
//! one memory (`"<speaker>: <text>"`, plus the image caption when the turn shares one), the
//! session date as event time, and each question's evidence cleaned into turn ids that exist.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// One conversation: its turns (the memories) and its questions.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub sample_id: String,
    pub turns: Vec<Turn>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone)]
pub struct Turn {
    /// `D<session>:<i>`.
    pub dia_id: String,
    pub content: String,
    pub event_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Question {
    pub text: String,
    pub category: u8,
    /// Cleaned evidence: turn ids of this conversation, deduplicated, in the dataset's order.
    pub evidence: Vec<String>,
}

/// Loads every conversation of a LoCoMo JSON file.
pub fn load(path: &Path) -> anyhow::Result<Vec<Conversation>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let root: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let list = root.as_array().context("a LoCoMo file is a JSON list of conversations")?;
    list.iter().map(conversation).collect()
}

fn conversation(v: &Value) -> anyhow::Result<Conversation> {
    let sample_id = v["sample_id"].as_str().context("conversation without sample_id")?.to_owned();
    let conv = v["conversation"].as_object().with_context(|| format!("{sample_id}: no conversation"))?;
    let mut sessions: Vec<(u32, &Vec<Value>)> = conv
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("session_")?.parse().ok()?, v.as_array()?)))
        .collect();
    sessions.sort_by_key(|(n, _)| *n);
    let mut turns = Vec::new();
    for (n, list) in sessions {
        let date = conv.get(&format!("session_{n}_date_time")).and_then(Value::as_str).and_then(parse_date);
        for t in list {
            let (Some(dia_id), Some(speaker)) = (t["dia_id"].as_str(), t["speaker"].as_str()) else {
                continue;
            };
            let mut content = format!("{speaker}: {}", t["text"].as_str().unwrap_or_default());
            if let Some(caption) = t["blip_caption"].as_str().filter(|c| !c.is_empty()) {
                content.push_str(&format!(" [shares an image: {caption}]"));
            }
            turns.push(Turn { dia_id: dia_id.to_owned(), content, event_time: date });
        }
    }
    let known: HashSet<&str> = turns.iter().map(|t| t.dia_id.as_str()).collect();
    let questions = v["qa"]
        .as_array()
        .map(|qa| qa.iter().filter_map(|q| question(q, &known)).collect())
        .unwrap_or_default();
    Ok(Conversation { sample_id, turns, questions })
}

fn question(q: &Value, known: &HashSet<&str>) -> Option<Question> {
    let text = q["question"].as_str()?.to_owned();
    let category = q["category"].as_u64().and_then(|c| u8::try_from(c).ok()).unwrap_or(0);
    let raw: Vec<&str> = match &q["evidence"] {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        Value::String(s) => vec![s.as_str()],
        _ => Vec::new(),
    };
    let mut evidence: Vec<String> = Vec::new();
    for id in raw.iter().flat_map(|s| clean_evidence(s)) {
        if known.contains(id.as_str()) && !evidence.contains(&id) {
            evidence.push(id);
        }
    }
    Some(Question { text, category, evidence })
}

/// Splits an evidence string into turn ids and repairs their known defects: `"D8:6; D9:17"`
/// and space-separated lists, `D:11:26` → `D11:26`, zero padding `D30:05` → `D30:5`.
pub fn clean_evidence(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let s = s.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            let rest = s.strip_prefix('D')?.trim_start_matches(':');
            let (session, turn) = rest.split_once(':')?;
            let session: u32 = session.parse().ok()?;
            let turn: u32 = turn.parse().ok()?;
            Some(format!("D{session}:{turn}"))
        })
        .collect()
}

/// `"1:56 pm on 8 May, 2023"` → that time, read as UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    ["%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%H:%M on %d %B, %Y"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_split_and_repaired() {
        assert_eq!(clean_evidence("D8:6; D9:17"), vec!["D8:6", "D9:17"]);
        assert_eq!(clean_evidence("D1:3 D2:4"), vec!["D1:3", "D2:4"]);
        assert_eq!(clean_evidence("D:11:26"), vec!["D11:26"]);
        assert_eq!(clean_evidence("D30:05"), vec!["D30:5"]);
        assert!(clean_evidence("not an id").is_empty());
    }

    #[test]
    fn session_dates_parse() {
        let t = parse_date("1:56 pm on 8 May, 2023").expect("date");
        assert_eq!(t.to_rfc3339(), "2023-05-08T13:56:00+00:00");
        let t = parse_date("10:04 am on 19 January, 2023").expect("date");
        assert_eq!(t.to_rfc3339(), "2023-01-19T10:04:00+00:00");
    }

    #[test]
    fn questions_keep_only_known_turns() {
        let v: Value = serde_json::from_str(
            r#"{"sample_id": "c", "conversation": {"speaker_a": "A", "speaker_b": "B",
                "session_1_date_time": "1:56 pm on 8 May, 2023",
                "session_1": [{"speaker": "A", "dia_id": "D1:1", "text": "hi"},
                              {"speaker": "B", "dia_id": "D1:2", "text": "look",
                               "blip_caption": "a photo of a dog"}],
                "session_2_date_time": "1:00 pm on 9 May, 2023"},
               "qa": [{"question": "q?", "answer": "x", "evidence": ["D1:01; D9:9", "D1:2"], "category": 4},
                      {"question": "adv?", "adversarial_answer": "y", "evidence": [], "category": 5}]}"#,
        )
        .expect("json");
        let c = conversation(&v).expect("conversation");
        assert_eq!(c.turns.len(), 2);
        assert_eq!(c.turns[1].content, "B: look [shares an image: a photo of a dog]");
        assert!(c.turns[0].event_time.is_some());
        assert_eq!(c.questions[0].evidence, vec!["D1:1", "D1:2"]);
        assert!(c.questions[1].evidence.is_empty());
    }
}
