//! The load phase: N workers for S seconds, each drawing operations from the mix and recording
//! per-operation latency and errors; merged at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::client::{Api, Reply};
use super::corpus::{Corpus, Query};
use super::ids::IdPool;
use super::mix::{Mix, Op};
use super::rng::Rng;
use super::stats::RunStats;

/// How many fixed queries (and goals) `--queries cached` cycles through.
pub const CACHED_QUERIES: usize = 50;

/// The fixed texts of `--queries cached`.
pub struct Cached {
    pub queries: Vec<Query>,
    /// `(tag, goal)` pairs for `promote`.
    pub goals: Vec<(&'static str, String)>,
}

/// Everything a worker needs to generate requests.
pub struct Workload {
    pub corpus: Arc<Corpus>,
    pub corpus_size: u64,
    pub mix: Mix,
    /// `hybrid`, `semantic` or `keyword`.
    pub mode: &'static str,
    /// `Some` with `--queries cached`: the fixed queries and goals; `None`: every text unique.
    pub cached: Option<Cached>,
    /// Differs per run so cold queries miss the server's query-embedding cache across runs too.
    pub nonce: u64,
    pub seed: u64,
}

impl Workload {
    /// The fixed query and goal sets of `--queries cached`, derived from the seed.
    pub fn cached_set(corpus: &Corpus, seed: u64) -> Cached {
        let mut rng = Rng::for_index(seed, u64::MAX);
        let queries = (0..CACHED_QUERIES).map(|_| corpus.query(&mut rng)).collect();
        let goals = (0..CACHED_QUERIES).map(|_| corpus.goal(&mut rng)).collect();
        Cached { queries, goals }
    }
}

/// Sends each cached query and goal once so the timed run measures warm caches.
pub async fn warm(api: &Api, w: &Workload) -> anyhow::Result<()> {
    let Some(Cached { queries, goals }) = &w.cached else { return Ok(()) };
    for q in queries {
        api.post("/v1/search", &search_body(w, q, &q.text)).await?.into_json("warming a query")?;
    }
    if w.mix.weight(Op::Promote) > 0 {
        for (i, (tag, goal)) in goals.iter().enumerate() {
            let user = w.corpus.user(i);
            let q = [("user_id", user.as_str()), ("tags", tag), ("goal", goal.as_str()), ("k", "10")];
            api.get("/v1/promote", &q).await?.into_json("warming a goal")?;
        }
    }
    Ok(())
}

/// Runs `concurrency` workers until `duration` has passed; returns merged stats and wall time.
pub async fn drive(
    api: &Api,
    w: Arc<Workload>,
    ids: &IdPool,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<(RunStats, Duration)> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..concurrency.max(1) {
        let worker = Worker { id: n as u64, api: api.clone(), w: w.clone(), ids: ids.clone(), sent: 0 };
        tasks.spawn(worker.run(deadline));
    }
    let mut total = RunStats::default();
    while let Some(stats) = tasks.join_next().await {
        total.merge(&stats?);
    }
    Ok((total, started.elapsed()))
}

struct Worker {
    id: u64,
    api: Api,
    w: Arc<Workload>,
    ids: IdPool,
    /// Requests sent so far (makes cold texts and added contents unique).
    sent: u64,
}

impl Worker {
    async fn run(mut self, deadline: Instant) -> RunStats {
        let mut rng = Rng::for_index(self.w.seed ^ 0x5EED_10AD, self.id);
        let mut stats = RunStats::default();
        while Instant::now() < deadline {
            let op = self.w.mix.choose(&mut rng);
            self.sent += 1;
            let started = Instant::now();
            let result = self.call(op, &mut rng).await;
            let elapsed = started.elapsed();
            let s = stats.op(op);
            match result {
                Ok(Some(r)) if r.ok() => {
                    s.ok(elapsed);
                    if op == Op::Add {
                        self.remember(&r);
                    }
                }
                Ok(Some(r)) => s.error(r.status.to_string()),
                Ok(None) => s.error("no_id"),
                Err(_) => s.error("transport"),
            }
        }
        stats
    }

    /// One request; `Ok(None)` when `get` has no id to fetch yet.
    async fn call(&self, op: Op, rng: &mut Rng) -> Result<Option<Reply>, reqwest::Error> {
        let w = &self.w;
        match op {
            Op::Search => {
                let (q, text) = match &w.cached {
                    Some(c) => {
                        let q = rng.pick(&c.queries).clone();
                        let text = q.text.clone();
                        (q, text)
                    }
                    None => {
                        let q = w.corpus.query(rng);
                        let text = self.unique(&q.text);
                        (q, text)
                    }
                };
                self.api.post("/v1/search", &search_body(w, &q, &text)).await.map(Some)
            }
            Op::Add => {
                let index = w.corpus_size + (self.id + 1) * 1_000_000_000 + w.nonce * 1_000_000 + self.sent;
                self.api.post("/v1/memories", &w.corpus.doc(index).to_json()).await.map(Some)
            }
            Op::Promote => {
                let (user, tag, goal) = match &w.cached {
                    Some(c) => {
                        let i = rng.below(c.goals.len());
                        (w.corpus.user(i), c.goals[i].0, c.goals[i].1.clone())
                    }
                    None => {
                        let (tag, goal) = w.corpus.goal(rng);
                        (w.corpus.user(rng.below(w.corpus.users())), tag, self.unique(&goal))
                    }
                };
                let q = [("user_id", user.as_str()), ("tags", tag), ("goal", goal.as_str()), ("k", "10")];
                self.api.get("/v1/promote", &q).await.map(Some)
            }
            Op::Get => match self.ids.pick(rng) {
                Some(id) => self.api.get(&format!("/v1/memories/{id}"), &[]).await.map(Some),
                None => Ok(None),
            },
        }
    }

    /// A text no earlier request (of this run or an earlier one) used.
    fn unique(&self, text: &str) -> String {
        format!("{text} (note {}-{}-{})", self.w.nonce, self.id, self.sent)
    }

    fn remember(&self, r: &Reply) {
        if let Ok(v) = r.json() {
            if let Some(id) = v["id"].as_str() {
                self.ids.push(id.to_owned());
            }
        }
    }
}

fn search_body(w: &Workload, q: &Query, text: &str) -> serde_json::Value {
    body(w.mode, q, text)
}

/// The body of one `POST /v1/search` of the load.
fn body(mode: &str, q: &Query, text: &str) -> serde_json::Value {
    json!({"query": text, "user_id": q.user_id, "top_k": 10, "mode": mode})
}

/// The search bodies the load sends, for external load tools (`memd bench queries`): with
/// `cached`, the fixed queries of `--queries cached` (the same texts and users, so they hit the
/// result cache the load warmed); otherwise `count` queries drawn as a cold worker draws them,
/// without the unique suffix a cold worker appends (the tool appends its own).
pub fn search_bodies(
    corpus: &Corpus,
    seed: u64,
    mode: &str,
    cached: bool,
    count: usize,
) -> Vec<serde_json::Value> {
    if cached {
        let c = Workload::cached_set(corpus, seed);
        return c.queries.iter().map(|q| body(mode, q, &q.text)).collect();
    }
    let mut rng = Rng::for_index(seed ^ 0x5EED_10AD, u64::MAX - 1);
    (0..count).map(|_| corpus.query(&mut rng)).map(|q| body(mode, &q, &q.text)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_bodies_are_the_fixed_queries_of_the_load() {
        let corpus = Corpus::new(42, 10);
        let bodies = search_bodies(&corpus, 42, "hybrid", true, 7);
        let fixed = Workload::cached_set(&corpus, 42).queries;
        assert_eq!(bodies.len(), CACHED_QUERIES);
        for (b, q) in bodies.iter().zip(&fixed) {
            assert_eq!(b["query"], q.text.as_str());
            assert_eq!(b["user_id"], q.user_id.as_str());
            assert_eq!((b["top_k"].as_u64(), b["mode"].as_str()), (Some(10), Some("hybrid")));
        }
    }

    #[test]
    fn cold_bodies_are_deterministic_varied_and_safe_to_extend_in_place() {
        let corpus = Corpus::new(42, 10);
        let a = search_bodies(&corpus, 42, "keyword", false, 2_000);
        assert_eq!(a, search_bodies(&corpus, 42, "keyword", false, 2_000));
        assert_eq!(a.len(), 2_000);
        let users: std::collections::HashSet<_> = a.iter().map(|b| b["user_id"].to_string()).collect();
        assert_eq!(users.len(), 10);
        let texts: std::collections::HashSet<_> = a.iter().map(|b| b["query"].to_string()).collect();
        assert!(texts.len() > 500, "{} distinct texts", texts.len());
        for b in &a {
            // scripts/wrk/search.lua appends a suffix inside `"query":"…"` with a pattern that
            // stops at the first quote: the serialised text must need no escaping.
            let line = b.to_string();
            let text = b["query"].as_str().unwrap_or_default();
            assert!(line.contains(&format!("\"query\":\"{text}\"")), "{line}");
            assert!(!text.contains(['"', '\\']), "{text}");
        }
    }
}
