//! `memd bench load` against the real binary: a small corpus, two seconds of the default mix,
//! and a JSON report with searches and adds and no errors; then a search-only run at concurrency 1.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_memd"))
            .args(["serve", "--listen", &listen, "--data-dir"])
            .arg(data)
            .env("MEMD_LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn memd");
        let s = Server { child, base: format!("http://{listen}") };
        s.wait_ready();
        s
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        loop {
            let ready = rt.block_on(async {
                reqwest::get(format!("{}/health/ready", self.base)).await.is_ok_and(|r| r.status() == 200)
            });
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "memd did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bench(server: &Server, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_memd"))
        .args(["bench", "load", "--url", &server.base, "--corpus", "300", "--users", "3"])
        .args(["--duration", "2", "--json"])
        .args(extra)
        .output()
        .expect("run memd bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed: {stderr}");
    assert!(stderr.contains("p95 ms"), "no table on stderr: {stderr}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stderr}"))
}

#[test]
fn bench_load_seeds_drives_the_mix_and_reports_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    // Keyword searches do not wait for the (debug-build) embedder, so two seconds hold
    // hundreds of operations and every op of the mix shows up.
    let v = bench(&server, &["--concurrency", "4", "--query-mode", "keyword"]);
    assert_eq!(v["seed"]["seeded"], 300, "{v}");
    assert!(v["seed"]["memories_per_s"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    for op in ["search", "add", "get"] {
        assert!(v["ops"][op]["count"].as_u64().unwrap_or(0) > 0, "no {op}: {v}");
        let (p50, p99) = (v["ops"][op]["p50_us"].as_u64().unwrap(), v["ops"][op]["p99_us"].as_u64().unwrap());
        assert!(p50 > 0 && p50 <= p99, "{op}: {v}");
    }
    for op in ["search", "add", "promote", "get"] {
        assert_eq!(v["ops"][op]["errors"], 0, "{op} errors: {v}");
    }
    assert_eq!(v["load"]["errors"], 0, "{v}");
    assert_eq!(v["config"]["mix"]["search"], 70);
    assert!(v["machine"]["cores"].as_u64().unwrap_or(0) >= 1);
    assert!(v["rss_bytes"].as_u64().unwrap_or(0) > 1_000_000, "server RSS not found: {v}");
    assert_eq!(v["server_pid"], server.child.id());

    // A second run finds the corpus already seeded; search-only at concurrency 1 works alone.
    let v = bench(&server, &["--mix", "search=100", "--concurrency", "1"]);
    assert_eq!(v["seed"]["skipped"], true, "{v}");
    assert_eq!(v["seed"]["existing"], 300, "{v}");
    assert!(v["ops"]["search"]["count"].as_u64().unwrap_or(0) > 0, "{v}");
    assert!(v["ops"].get("add").is_none(), "{v}");
    assert_eq!(v["load"]["errors"], 0, "{v}");
}
