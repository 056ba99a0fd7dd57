//! memd's MCP server against the official clients, run as real processes: the Python SDK 1.x and
//! 2.x (stdio and Streamable HTTP), the MCP Inspector's CLI (stdio and HTTP), the conformance
//! suite's server scenarios (HTTP), and a call-by-call comparison of the knowledge-graph tools
//! with the reference server @modelcontextprotocol/server-memory.
//!
//! The clients are installed by `scripts/ensure-mcp-clients.sh` (once per machine, into the user's
//! cache; a no-op when present) and the client scripts are in `tests/mcp-clients/`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{memd, Server};

const MEMD: &str = env!("CARGO_BIN_EXE_memd");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scripts() -> PathBuf {
    repo().join("tests/mcp-clients")
}

/// Where scripts/ensure-mcp-clients.sh installed the clients.
struct Clients {
    dir: PathBuf,
}

impl Clients {
    fn python(&self, sdk_major: u8) -> PathBuf {
        self.dir.join(format!("py-mcp{sdk_major}/bin/python"))
    }
    fn node(&self) -> PathBuf {
        self.dir.join("bin/node")
    }
    fn npm_bin(&self, name: &str) -> PathBuf {
        self.dir.join("npm/node_modules/.bin").join(name)
    }
    /// A command for a Node program of the cache, run by its Node 22 (also first on PATH, for
    /// whatever it starts).
    fn node_cmd(&self, bin: &str) -> Command {
        let mut c = Command::new(self.node());
        c.arg(self.npm_bin(bin)).env("PATH", self.path());
        c
    }
    fn path(&self) -> String {
        format!("{}:{}", self.dir.join("bin").display(), std::env::var("PATH").unwrap_or_default())
    }
}

/// Installs the clients (once per test binary) and says where they are.
fn clients() -> &'static Clients {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(repo().join("scripts/ensure-mcp-clients.sh"))
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/ensure-mcp-clients.sh");
        assert!(
            out.status.success(),
            "scripts/ensure-mcp-clients.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("ensure-mcp-clients.sh: {:.1} s", started.elapsed().as_secs_f64());
        let dir = std::env::var_os("MEMD_MCP_CLIENTS_DIR").map(PathBuf::from).unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
            cache.join("memd/mcp-clients")
        });
        Clients { dir }
    })
}

/// GET /v1/memories/{id} on `server`: (status, body).
async fn memory_of(server: &Server, id: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}/v1/memories/{id}", server.base));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let r = req.send().await.expect("GET memory");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Runs a command to completion within `timeout` (killed after it), capturing its output.
fn run(mut cmd: Command, timeout: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} took more than {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().expect("stdout"), stderr: stderr.join().expect("stderr") }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// memd_roundtrip.py as a running process: JSON lines from its stdout, a line to its stdin.
struct Roundtrip {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Roundtrip {
    fn start(sdk_major: u8, transport_args: &[String]) -> Roundtrip {
        let c = clients();
        let mut child = Command::new(c.python(sdk_major))
            .arg(scripts().join("memd_roundtrip.py"))
            .arg("--pause")
            .args(transport_args)
            .env("MEMD_LOG_LEVEL", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn memd_roundtrip.py");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Roundtrip { stdin: child.stdin.take(), child, lines, stderr }
    }

    /// The next JSON line, which must be the event `event`.
    fn expect_event(&mut self, event: &str, timeout: Duration) -> Value {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                assert_eq!(v["event"], event, "{v}");
                v
            }
            Err(_) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
                panic!(
                    "memd_roundtrip.py: no {event:?} line within {timeout:?}; stderr:\n{}",
                    stderr.join().unwrap_or_default()
                );
            }
        }
    }

    fn resume(&mut self) {
        let mut stdin = self.stdin.take().expect("stdin");
        stdin.write_all(b"go\n").expect("write to memd_roundtrip.py");
    }

    fn finish(mut self) -> Value {
        let done = self.expect_event("done", Duration::from_secs(30));
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "memd_roundtrip.py: {status}");
        done
    }
}

impl Drop for Roundtrip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running memd_roundtrip.py drives memd's tools; `server` (on the same data directory) must
/// show the memory over REST while it exists, and answer 404 once it is deleted.
async fn python_roundtrip(mut rt: Roundtrip, server: &Server, key: Option<&str>) {
    let started = Instant::now();
    let stored = rt.expect_event("stored", Duration::from_secs(60));
    let id = stored["id"].as_str().expect("id").to_owned();
    let (status, rest) = memory_of(server, &id, key).await;
    assert_eq!(status, 200, "the memory added through MCP is stored: {rest}");
    assert_eq!(rest["content"], "Alice drinks an espresso every morning before work");
    assert_eq!(rest["user_id"], stored["user_id"]);
    rt.resume();
    let done = rt.finish();
    let (status, rest) = memory_of(server, &id, key).await;
    assert_eq!(status, 404, "deleted through MCP: {rest}");
    let field = |k: &str| done[k].as_str().unwrap_or("?").to_owned();
    eprintln!(
        "{} over {}: protocol {} via {}, found after {} searches, {:.1} s",
        field("sdk"),
        field("transport"),
        field("protocol_version"),
        field("negotiation"),
        done["search"]["attempts"],
        started.elapsed().as_secs_f64()
    );
}

fn stdio_args(data: &Path) -> Vec<String> {
    ["stdio", "--", MEMD, "mcp", "--data-dir"]
        .iter()
        .map(|s| s.to_string())
        .chain([data.display().to_string()])
        .collect()
}

async fn python_over_stdio(sdk_major: u8) {
    clients();
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = Roundtrip::start(sdk_major, &stdio_args(dir.path()));
    // `memd serve` on the same directory, for the REST checks; it starts while the client works.
    let server = Server::start(dir.path()).await;
    python_roundtrip(rt, &server, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_1_over_stdio() {
    python_over_stdio(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_2_over_stdio() {
    python_over_stdio(2).await;
}

/// Streamable HTTP at /mcp on `memd serve`: SDK 1.x in local mode (no key), SDK 2.x with an API
/// key in the Authorization header (the MCP endpoint refuses a request without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_1_over_http() {
    clients();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path()).await;
    let rt = Roundtrip::start(1, &["http".into(), server.mcp_url()]);
    python_roundtrip(rt, &server, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_2_over_http_with_an_api_key() {
    clients();
    let dir = tempfile::tempdir().expect("tempdir");
    let out =
        memd(&["keys", "create", "--tenant", "acme", "--json"], dir.path()).output().expect("keys create");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key =
        serde_json::from_slice::<Value>(&out.stdout).expect("json")["key"].as_str().expect("key").to_owned();
    let server = Server::start(dir.path()).await;
    let unauthenticated = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}))
        .send()
        .await
        .expect("POST /mcp");
    assert_eq!(unauthenticated.status(), 401, "a key exists, so /mcp needs it");
    let args =
        vec!["http".into(), server.mcp_url(), "--header".into(), format!("Authorization: Bearer {key}")];
    python_roundtrip(Roundtrip::start(2, &args), &server, Some(&key)).await;
}

/// How the Inspector reaches memd: a command it starts, or a URL.
enum Target {
    Stdio(Vec<String>),
    Http(String),
}

/// `mcp-inspector --cli --format json --method … [-e …|--transport http] -- TARGET` →
/// (exit code, JSON output).
fn inspector(target: &Target, method_args: &[&str]) -> (i32, Value) {
    let c = clients();
    let mut cmd = c.node_cmd("mcp-inspector");
    cmd.args(["--cli", "--format", "json"]).args(method_args);
    match target {
        Target::Stdio(command) => {
            // The server gets only HOME, PATH, … from the Inspector, plus these.
            for (k, v) in std::env::vars() {
                if k.starts_with("MEMD_") || k == "XDG_CACHE_HOME" {
                    cmd.arg("-e").arg(format!("{k}={v}"));
                }
            }
            cmd.args(["-e", "MEMD_LOG_LEVEL=warn", "--"]).args(command);
        }
        Target::Http(url) => {
            cmd.args(["--transport", "http", "--", url]);
        }
    }
    let out = run(cmd, Duration::from_secs(60));
    let stdout = text(&out.stdout);
    let v = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("inspector printed no JSON ({e}): {stdout}\nstderr: {}", text(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), v)
}

/// tools/list, tools/call add_memory and get_memory, and a tool error, with the Inspector's CLI
/// (each a new connection, in its default `legacy` era: `initialize`), then one call in the
/// `modern` era.
fn inspector_session(target: &Target) -> String {
    let (code, listed) = inspector(target, &["--method", "tools/list"]);
    assert_eq!(code, 0, "{listed}");
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for want in ["add_memory", "search_memories", "delete_memory"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let content = "content=Alice drinks an espresso every morning before work";
    let (code, added) = inspector(
        target,
        &["--method", "tools/call", "--tool-name", "add_memory", "--tool-arg", content, "user_id=inspector"],
    );
    assert_eq!(code, 0, "{added}");
    let memory = &added["result"]["structuredContent"];
    let id = memory["id"].as_str().unwrap_or_else(|| panic!("no id: {added}")).to_owned();
    assert_eq!(memory["user_id"], "inspector", "{added}");
    let arg = format!("id={id}");
    let (code, got) =
        inspector(target, &["--method", "tools/call", "--tool-name", "get_memory", "--tool-arg", &arg]);
    assert_eq!(code, 0, "{got}");
    assert_eq!(got["result"]["structuredContent"]["id"], id.as_str(), "{got}");
    let (code, bad) = inspector(
        target,
        &["--method", "tools/call", "--tool-name", "get_memory", "--tool-arg", "id=not-a-uuid"],
    );
    assert_eq!(code, 5, "the Inspector exits 5 on a tool error: {bad}");
    // The 2026-07-28 era: `server/discover`, then requests carrying their own protocol metadata.
    let (code, status) = inspector(
        target,
        &["--protocol-era", "modern", "--method", "tools/call", "--tool-name", "memd_status"],
    );
    assert_eq!(code, 0, "{status}");
    assert!(status["result"]["structuredContent"]["embed_pending"].is_u64(), "{status}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_cli_over_stdio() {
    clients();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = Target::Stdio(vec![
        MEMD.to_owned(),
        "mcp".into(),
        "--data-dir".into(),
        dir.path().display().to_string(),
    ]);
    let id = tokio::task::spawn_blocking(move || inspector_session(&target)).await.expect("inspector");
    let server = Server::start(dir.path()).await;
    assert_eq!(memory_of(&server, &id, None).await.0, 200, "stored by memd mcp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_cli_over_http() {
    clients();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path()).await;
    let target = Target::Http(server.mcp_url());
    let id = tokio::task::spawn_blocking(move || inspector_session(&target)).await.expect("inspector");
    assert_eq!(memory_of(&server, &id, None).await.0, 200, "stored through /mcp");
}

/// The conformance suite's server scenarios that need none of the suite's own test tools,
/// resources or prompts (`conformance list --server` names them all; the others call tools
/// such as `test_simple_text` or need logging/completions/resources/prompts capabilities).
/// server-sse-polling calls the suite's `test_reconnection` tool and, without it, only warns;
/// it still checks that a POST answered with an SSE stream is well-formed.
const CONFORMANCE_SCENARIOS: &[&str] = &[
    "server-initialize",
    "ping",
    "tools-list",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
    "server-sse-polling",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_server_scenarios_over_http() {
    let c = clients();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path()).await;
    let url = server.mcp_url();
    let results = dir.path().join("conformance");
    let failures = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        for scenario in CONFORMANCE_SCENARIOS {
            let started = Instant::now();
            let mut cmd = c.node_cmd("conformance");
            cmd.args(["server", "--url", &url, "--scenario", scenario, "-o"]).arg(&results);
            let out = run(cmd, Duration::from_secs(60));
            eprintln!("conformance {scenario}: {} ({:.1} s)", out.status, started.elapsed().as_secs_f64());
            if !out.status.success() {
                failures.push(format!("{scenario}:\n{}{}", text(&out.stdout), text(&out.stderr)));
            }
        }
        failures
    })
    .await
    .expect("conformance");
    assert!(failures.is_empty(), "conformance scenarios failed:\n{}", failures.join("\n"));
}

/// graph_compare.py with the Python SDK 1.x: `args` after the script.
fn graph_compare(args: &[&str]) -> Output {
    let c = clients();
    let mut cmd = Command::new(c.python(1));
    cmd.arg(scripts().join("graph_compare.py"))
        .args(["--node".as_ref(), c.node().as_os_str()])
        .arg("--server-memory")
        .arg(c.dir.join("npm/node_modules/@modelcontextprotocol/server-memory/dist/index.js"))
        .args(args)
        .env("MEMD_LOG_LEVEL", "warn");
    run(cmd, Duration::from_secs(60))
}

/// The comparison's call sequence gives, on the reference server itself, what the script expects
/// (so a mismatch in the next test is memd's, not the script's).
#[test]
fn graph_sequence_matches_the_reference_server() {
    let out = graph_compare(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The nine knowledge-graph tools answer as @modelcontextprotocol/server-memory does, call by
/// call (isError, and structuredContent of each success).
#[test]
fn graph_tools_match_the_reference_server() {
    let out = graph_compare(&["--memd", MEMD]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
