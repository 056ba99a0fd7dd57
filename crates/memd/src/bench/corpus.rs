//! The synthetic corpus: realistic short memories ("<person> <verb> <object> <time-phrase> …",
//! 8–30 words) over topic vocabularies, with users `bench-u<i>` and 1–3 tags per memory.
//!
//! Memory `i` depends only on `(seed, i)`, so a corpus can be seeded in any order, resumed, or
//! extended (10k → 100k seeds only the missing 90k) and is identical on every machine.

use serde_json::{json, Value};

use super::rng::{Rng, Zipf};
use super::vocab::{Topic, COMPANIONS, OPINIONS, PERSONS, TIMES, TOPICS};

pub const MIN_WORDS: usize = 8;
pub const MAX_WORDS: usize = 30;

/// One generated memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub user_id: String,
    pub content: String,
    pub tags: Vec<String>,
}

impl Doc {
    /// The body of `POST /v1/memories` (and one element of a batch).
    pub fn to_json(&self) -> Value {
        json!({"user_id": self.user_id, "content": self.content, "tags": self.tags})
    }
}

/// A search query with the user it is scoped to.
#[derive(Debug, Clone)]
pub struct Query {
    pub user_id: String,
    pub text: String,
}

/// The corpus generator.
pub struct Corpus {
    seed: u64,
    users: usize,
    topics: Zipf,
    /// `zipf[n]` samples `0..n`; word lists are short, so one table per length is cheap.
    zipf: Vec<Zipf>,
}

impl Corpus {
    pub fn new(seed: u64, users: usize) -> Corpus {
        Corpus {
            seed,
            users: users.max(1),
            topics: Zipf::new(TOPICS.len(), 0.8),
            zipf: (0..=64).map(|n| Zipf::new(n, 1.0)).collect(),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn users(&self) -> usize {
        self.users
    }

    pub fn user(&self, i: usize) -> String {
        format!("bench-u{}", i % self.users)
    }

    /// Memory number `index` of the corpus.
    pub fn doc(&self, index: u64) -> Doc {
        let mut rng = Rng::for_index(self.seed, index);
        let topic = &TOPICS[self.topics.sample(&mut rng)];
        Doc {
            user_id: self.user((index % self.users as u64) as usize),
            content: self.sentence(&mut rng, topic),
            tags: tags(&mut rng, topic),
        }
    }

    /// A query phrased from the same vocabulary as the corpus, for a random user.
    pub fn query(&self, rng: &mut Rng) -> Query {
        let t = &TOPICS[self.topics.sample(rng)];
        let noun = self.z(rng, t.nouns);
        let text = match rng.below(6) {
            0 => format!("what does {} think about the {noun}", self.z(rng, PERSONS)),
            1 => format!("{noun} {}", self.z(rng, t.places)),
            2 => format!("{} {noun}", self.z(rng, PERSONS)),
            3 => format!("anything about {} {noun} {}", self.z(rng, t.adjectives), self.z(rng, TIMES)),
            4 => format!("{noun} {}", self.z(rng, COMPANIONS)),
            _ => format!("what happened with the {noun}"),
        };
        Query { user_id: self.user(rng.below(self.users)), text }
    }

    /// A `promote` goal and the tag it concerns.
    pub fn goal(&self, rng: &mut Rng) -> (&'static str, String) {
        let t = &TOPICS[self.topics.sample(rng)];
        (t.name, format!("help with the {} {}", self.z(rng, t.adjectives), self.z(rng, t.nouns)))
    }

    fn z(&self, rng: &mut Rng, items: &'static [&'static str]) -> &'static str {
        self.zipf[items.len().min(64)].pick(rng, items)
    }

    fn object(&self, rng: &mut Rng, t: &Topic) -> String {
        let noun = self.z(rng, t.nouns);
        if rng.chance(0.5) {
            format!("the {} {noun}", self.z(rng, t.adjectives))
        } else {
            format!("the {noun}")
        }
    }

    /// One memory's text: a main clause, then optional phrases until a sampled target length.
    fn sentence(&self, rng: &mut Rng, t: &Topic) -> String {
        let target = MIN_WORDS + (rng.unit().powf(1.5) * (MAX_WORDS - MIN_WORDS) as f64) as usize;
        let person = self.z(rng, PERSONS);
        let mut text = if rng.chance(0.65) {
            format!("{person} {} {} {}", self.z(rng, t.verbs), self.object(rng, t), self.z(rng, TIMES))
        } else {
            format!("{person} {} {}", self.z(rng, t.prefs), self.object(rng, t))
        };
        let mut extras = vec![
            self.z(rng, t.places).to_owned(),
            self.z(rng, COMPANIONS).to_owned(),
            self.z(rng, t.reasons).to_owned(),
            format!("and then {} {}", self.z(rng, t.verbs), self.object(rng, t)),
        ];
        shuffle(rng, &mut extras);
        extras.push(format!(". {}", self.z(rng, OPINIONS)));
        for extra in &extras {
            let n = words(&text);
            if n >= target && n >= MIN_WORDS {
                break;
            }
            if n + words(extra) <= MAX_WORDS {
                text.push(' ');
                text.push_str(extra);
            }
        }
        finish(text)
    }
}

fn tags(rng: &mut Rng, t: &Topic) -> Vec<String> {
    let mut tags = vec![t.name.to_owned()];
    let extra = [0, 1, 1, 2][rng.below(4)];
    while tags.len() < 1 + extra {
        let s = rng.pick(t.subtags).to_string();
        if !tags.contains(&s) {
            tags.push(s);
        }
    }
    tags
}

fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

pub fn words(s: &str) -> usize {
    s.split_whitespace().filter(|w| *w != ".").count()
}

/// Capitalises the first letter, tidies " . " into ". " and ends with a full stop.
fn finish(text: String) -> String {
    let text = text.replace(" . ", ". ");
    let mut c = text.chars();
    let mut out: String = c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default();
    out.push('.');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn deterministic_for_a_seed_and_different_across_seeds() {
        let a = Corpus::new(42, 10);
        let b = Corpus::new(42, 10);
        let c = Corpus::new(43, 10);
        for i in 0..200 {
            assert_eq!(a.doc(i), b.doc(i));
        }
        let differ = (0..200).filter(|&i| a.doc(i).content != c.doc(i).content).count();
        assert!(differ > 150, "{differ}");
    }

    #[test]
    fn memories_look_like_sentences_with_realistic_lengths_and_tags() {
        let c = Corpus::new(1, 7);
        let docs: Vec<Doc> = (0..5_000).map(|i| c.doc(i)).collect();
        let mut lengths = Vec::new();
        for d in &docs {
            let n = words(&d.content);
            assert!((MIN_WORDS..=MAX_WORDS).contains(&n), "{n} words: {}", d.content);
            assert!(d.content.ends_with('.') && d.content.chars().next().unwrap().is_uppercase());
            assert!((1..=3).contains(&d.tags.len()), "{:?}", d.tags);
            assert!(TOPICS.iter().any(|t| t.name == d.tags[0]));
            assert!(d.user_id.starts_with("bench-u"));
            lengths.push(n);
        }
        let mean = lengths.iter().sum::<usize>() as f64 / lengths.len() as f64;
        assert!((10.0..22.0).contains(&mean), "mean length {mean}");
        assert!(lengths.iter().any(|&n| n >= 20) && lengths.iter().any(|&n| n <= 11));
        let users: std::collections::HashSet<_> = docs.iter().map(|d| d.user_id.clone()).collect();
        assert_eq!(users.len(), 7);
        let distinct: std::collections::HashSet<_> = docs.iter().map(|d| d.content.clone()).collect();
        assert!(distinct.len() > 4_900, "{} distinct of 5000", distinct.len());
    }

    #[test]
    fn word_frequencies_are_skewed_like_text() {
        let c = Corpus::new(5, 3);
        let mut freq: HashMap<String, usize> = HashMap::new();
        for i in 0..3_000 {
            for w in c.doc(i).content.split_whitespace() {
                *freq.entry(w.trim_matches('.').to_lowercase()).or_default() += 1;
            }
        }
        let mut counts: Vec<usize> = freq.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        assert!(counts.len() > 300, "vocabulary of {}", counts.len());
        assert!(
            counts[0] > 20 * counts[counts.len() / 2],
            "head {} median {}",
            counts[0],
            counts[counts.len() / 2]
        );
    }

    #[test]
    fn queries_and_goals_use_the_vocabulary() {
        let c = Corpus::new(9, 4);
        let mut rng = Rng::new(2);
        for _ in 0..100 {
            let q = c.query(&mut rng);
            assert!(words(&q.text) >= 2 && q.user_id.starts_with("bench-u"), "{q:?}");
            let (tag, goal) = c.goal(&mut rng);
            assert!(TOPICS.iter().any(|t| t.name == tag) && goal.starts_with("help with"));
        }
    }
}
