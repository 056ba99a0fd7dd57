//! Sampled metrics: the exposition text parsed into series, and a bounded history of snapshots
//! the engine evaluates over (`rate` needs earlier samples).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub type Labels = BTreeMap<String, String>;
/// Every series of one sample: (name, labels) → value.
pub type Snapshot = HashMap<(String, Labels), f64>;
/// A snapshot with the time it was taken.
pub type Timed = (DateTime<Utc>, Snapshot);

/// One sample line: `name{a="x",b="y"} value` → (name, labels, value). Label values may contain
/// escaped quotes and newlines; `+Inf`/`-Inf`/`NaN` are understood.
pub fn parse_sample(line: &str) -> Option<(&str, Labels, f64)> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().ok()?,
    };
    let Some((name, rest)) = head.split_once('{') else {
        return Some((head, Labels::new(), value));
    };
    let mut labels = Labels::new();
    let mut rest = rest.strip_suffix('}')?;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut val = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n') => val.push('\n'),
                    Some(e) => val.push(e),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => val.push(c),
            }
        }
        labels.insert(key.trim_start_matches([',', ' ']).to_owned(), val);
        rest = &after[end..];
    }
    Some((name, labels, value))
}

/// Every sample of an exposition text, keyed by name and labels.
pub fn parse_exposition(text: &str) -> Snapshot {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(parse_sample)
        .map(|(name, labels, v)| ((name.to_owned(), labels), v))
        .collect()
}

/// Snapshots of every series, oldest first, kept for `keep`.
pub struct History {
    keep: Duration,
    snapshots: VecDeque<Timed>,
}

impl History {
    pub fn new(keep: Duration) -> Self {
        Self { keep, snapshots: VecDeque::new() }
    }

    /// Adds a snapshot taken at `at` and drops those older than `keep` before it.
    pub fn push(&mut self, at: DateTime<Utc>, series: Snapshot) {
        self.snapshots.push_back((at, series));
        let keep = chrono::Duration::from_std(self.keep).unwrap_or(chrono::Duration::hours(1));
        while self.snapshots.front().is_some_and(|(t, _)| *t < at - keep) {
            self.snapshots.pop_front();
        }
    }

    /// Changes how long snapshots are kept (from the next push).
    pub fn set_keep(&mut self, keep: Duration) {
        self.keep = keep;
    }

    pub fn latest(&self) -> Option<&Timed> {
        self.snapshots.back()
    }

    /// Snapshots at or after `since`, oldest first.
    pub fn since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Iterator<Item = &(DateTime<Utc>, HashMap<(String, Labels), f64>)> {
        self.snapshots.iter().filter(move |(t, _)| *t >= since)
    }

    pub fn len(&self) -> usize {
        self.snapshots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.snapshots.is_empty()
    }
}
