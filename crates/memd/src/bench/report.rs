//! The result of one `memd bench load` run: the JSON object printed with `--json` (configuration
//! echo, machine, seeding, per-operation statistics, server memory) and the stderr table.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::mix::Op;
use super::seed::SeedReport;
use super::stats::{round2, table, OpSummary, RunStats};
use super::sysinfo::{self, Machine};
use super::LoadArgs;

#[derive(Debug, Serialize)]
pub struct Report {
    pub bench: &'static str,
    pub memd_version: &'static str,
    /// When the run finished (RFC 3339, UTC).
    pub date: String,
    pub config: ConfigEcho,
    pub machine: Machine,
    pub seed: SeedReport,
    pub load: Totals,
    /// Per operation; latencies in microseconds, throughput of successful requests.
    pub ops: BTreeMap<&'static str, OpSummary>,
    pub server_pid: Option<u32>,
    /// Resident memory of the server at the end of the run; `null` when unknown.
    pub rss_bytes: Option<u64>,
}

/// The options of the run (never the API key).
#[derive(Debug, Serialize)]
pub struct ConfigEcho {
    pub url: String,
    pub concurrency: usize,
    pub duration_s: u64,
    pub mix: BTreeMap<&'static str, u32>,
    pub corpus: u64,
    pub users: usize,
    pub query_mode: &'static str,
    pub queries: &'static str,
    pub seed: u64,
    pub wait_embedded: bool,
    pub skip_seed: bool,
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub elapsed_s: f64,
    pub requests: u64,
    pub ops_per_s: f64,
    pub errors: u64,
}

impl Report {
    pub fn new(
        args: &LoadArgs,
        seed: SeedReport,
        stats: &RunStats,
        elapsed: Duration,
        wanted: &[Op],
        pid: Option<u32>,
    ) -> Report {
        let ops = stats.summaries(elapsed, wanted);
        let requests = ops.values().map(|s| s.count).sum();
        Report {
            bench: "load",
            memd_version: env!("CARGO_PKG_VERSION"),
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            config: echo(args),
            machine: sysinfo::machine(),
            seed,
            load: Totals {
                elapsed_s: round2(elapsed.as_secs_f64()),
                requests,
                ops_per_s: round2(requests as f64 / elapsed.as_secs_f64().max(1e-9)),
                errors: ops.values().map(|s| s.errors).sum(),
            },
            ops,
            server_pid: pid,
            rss_bytes: pid.and_then(sysinfo::rss_bytes),
        }
    }

    /// The human-readable summary: the per-operation table and a totals line.
    pub fn table(&self) -> String {
        let rss = self.rss_bytes.map_or("unknown".to_owned(), |b| format!("{:.0} MiB", b as f64 / 1048576.0));
        format!(
            "{}total    {:>9} {:>9.1}   errors {}   elapsed {:.1} s   server RSS {rss}\n",
            table(&self.ops),
            self.load.requests,
            self.load.ops_per_s,
            self.load.errors,
            self.load.elapsed_s
        )
    }
}

fn echo(args: &LoadArgs) -> ConfigEcho {
    ConfigEcho {
        url: args.url.clone(),
        concurrency: args.concurrency,
        duration_s: args.duration,
        mix: args.mix.ops().map(|op| (op.name(), args.mix.weight(op))).collect(),
        corpus: args.corpus,
        users: args.users,
        query_mode: args.query_mode.name(),
        queries: args.queries_name(),
        seed: args.seed,
        wait_embedded: args.wait_embedded,
        skip_seed: args.skip_seed,
    }
}
