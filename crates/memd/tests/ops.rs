//! Operations against the real binary when something around it breaks or changes: the data
//! directory's file system goes read-only under a running server (a real ext4 volume on a loop
//! device, in the server's own mount namespace, failed through the kernel), the embedding model
//! is missing at start, and the configuration is reloaded with SIGHUP and with
//! `POST /api/config/reload`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::Server;

/// The health component `name` of an `/api/health` answer.
fn component<'a>(health: &'a Value, name: &str) -> &'a Value {
    let all = health["components"].as_array().expect("components");
    all.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name} component in {health}"))
}

/// Polls `/api/health` until `done` holds (10 s at most); returns the last answer.
async fn health_until(s: &Server, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = s.get_json("/api/health").await;
        if done(&h) || Instant::now() > deadline {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn add(s: &Server, content: &str) -> (u16, Value) {
    s.post_json("/v1/memories", json!({"user_id": "ana", "content": content})).await
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Makes the kernel take the ext4 file system at `dir` (mounted in the mount namespace of
/// process `pid`) read-only the way it does on a disk error with `errors=remount-ro`: through
/// ext4's `trigger_fs_error` knob. Writes on already open files fail from then on too.
fn fail_file_system(pid: u32, dir: &Path) {
    let pid = pid.to_string();
    let out = Command::new("nsenter")
        .args(["--target", &pid, "--mount", "--", "findmnt", "-n", "-o", "SOURCE"])
        .arg(dir)
        .output()
        .expect("findmnt");
    let device = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let name = device.rsplit('/').next().expect("device name").to_owned();
    assert!(name.starts_with("loop"), "data directory on {device:?}");
    std::fs::write(format!("/sys/fs/ext4/{name}/trigger_fs_error"), "memd test: simulated disk error")
        .expect("trigger_fs_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_gone_read_only_turns_health_critical_and_writes_into_503s() {
    // What the test needs (root, loop devices, mount namespaces) is there on the machines CI
    // runs on; say so plainly where it is not, rather than time out.
    assert!(Path::new("/dev/loop-control").exists(), "needs loop devices (/dev/loop-control)");
    run(Command::new("unshare").args(["--mount", "--", "true"]));
    let dir = tempfile::tempdir().expect("tempdir");
    let (image, data) = (dir.path().join("disk.img"), dir.path().join("data"));
    std::fs::create_dir(&data).expect("mkdir");
    run(Command::new("truncate").args(["-s", "64M"]).arg(&image));
    run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image));
    // The server runs in its own mount namespace, on a small ext4 volume of its own that the
    // kernel turns read-only on the first error (as production volumes are usually mounted).
    let script = r#"mount -o loop,errors=remount-ro "$0" "$1" && shift && exec "$@""#;
    let paths = [image.to_str().expect("utf-8 path"), data.to_str().expect("utf-8 path")];
    let wrapper =
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, paths[0], paths[1]];
    let s = Server::start_wrapped(&data, &wrapper, &[]).await;
    assert_eq!(add(&s, "Ana keeps her bike in the hallway").await.0, 201);
    let h = s.get_json("/api/health").await;
    assert_eq!(component(&h, "disk")["status"], "healthy", "{h}");

    fail_file_system(s.child.id(), &data);
    let h = health_until(&s, |h| component(h, "disk")["status"] == "critical").await;
    assert_eq!(component(&h, "disk")["status"], "critical", "{h}");
    let detail = component(&h, "disk")["detail"].as_str().expect("detail").to_lowercase();
    assert!(detail.contains("read-only"), "{detail}");
    assert_eq!(component(&h, "store")["status"], "unhealthy", "{h}");
    assert_eq!(h["status"], "critical");
    assert!(h["score"].as_f64().expect("score") < 0.9, "{h}");
    let (status, body) = add(&s, "Ana bought a new helmet").await;
    assert_eq!(status, 503, "a write on a read-only volume: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    // Reads still answer, and readiness holds: the instance still serves what it has.
    let (status, found) = s.post_json("/v1/search", json!({"user_id": "ana", "query": "bike"})).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["results"].as_array().expect("results").len(), 1, "{found}");
    assert_eq!(reqwest::get(format!("{}/health/ready", s.base)).await.expect("ready").status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_model_starts_keyword_only_and_its_queue_is_embedded_once_it_is_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gone = dir.path().join("no-such-model.onnx");
    let missing = [("MEMD_EMBED_ONNX_MODEL", gone.display().to_string())];

    // embed.required: refuse to start, saying why.
    let out = common::memd(&["serve", "--listen", "127.0.0.1:0"], dir.path())
        .envs(missing.iter().cloned())
        .env("MEMD_EMBED_REQUIRED", "true")
        .output()
        .expect("memd serve");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-model.onnx"), "{out:?}");

    let s = Server::start_with_env(dir.path(), &missing).await;
    let h = s.get_json("/api/health").await;
    let embedder = component(&h, "embedder");
    assert_eq!(embedder["status"], "unhealthy", "{h}");
    assert!(embedder["detail"].as_str().expect("detail").contains("no-such-model.onnx"), "{h}");
    assert_eq!(h["status"], "unhealthy");
    let status = s.get_json("/api/status").await;
    assert_eq!(status["flags"]["semantic_search"], false, "{status}");
    assert!(status["embedder_error"].as_str().is_some(), "{status}");
    let events = s.get_json("/api/events?type=embedder_unavailable").await;
    assert_eq!(events["events"].as_array().map(Vec::len), Some(1), "{events}");

    assert_eq!(add(&s, "Ana is learning to play the cello").await.0, 201);
    let (_, found) = s.post_json("/v1/search", json!({"user_id": "ana", "query": "cello lessons"})).await;
    assert_eq!(found["degraded"], true, "{found}");
    assert_eq!(found["results"].as_array().map(Vec::len), Some(1), "{found}");
    let h = s.get_json("/api/health").await;
    assert!(component(&h, "embedder")["detail"].as_str().expect("d").contains("writes waiting: 1"), "{h}");
    drop(s);

    // The model is back: the queued write is embedded and semantic search finds it.
    let s = Server::start(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.get_json("/api/status").await["index"]["embed_pending"] != 0 {
        assert!(Instant::now() < deadline, "the queued memory was not embedded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let q = json!({"user_id": "ana", "query": "which instrument", "mode": "semantic"});
    let (_, found) = s.post_json("/v1/search", q).await;
    assert_eq!(found["degraded"], false, "{found}");
    assert_eq!(found["results"][0]["memory"]["content"], "Ana is learning to play the cello", "{found}");
}

fn write_config(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write config");
}

/// The events of `kind`, once there are `n` (they are written just after a reload applies;
/// 10 s at most).
async fn events_of(s: &Server, kind: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = s.get_json(&format!("/api/events?type={kind}")).await["events"].as_array().cloned();
        let all = all.unwrap_or_default();
        if all.len() >= n || Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_the_reload_route_apply_safe_settings_and_name_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("memd.toml");
    let old_token = "old-admin-token-0123456789";
    write_config(&file, &format!("admin_token = \"{old_token}\"\n[search]\ndefault_top_k = 10\n"));
    let cfg = file.to_str().expect("utf-8 path");
    let log = dir.path().join("memd.log");
    let env = [("MEMD_LOG_LEVEL", "info".to_owned())];
    let s = Server::start_logging(&dir.path().join("data"), &["--config", cfg], &env, &log).await;
    for i in 0..5 {
        assert_eq!(add(&s, &format!("Ana's note {i} about the garden")).await.0, 201);
    }
    let search =
        || s.post_json("/v1/search", json!({"user_id": "ana", "query": "garden", "mode": "keyword"}));
    assert_eq!(search().await.1["results"].as_array().map(Vec::len), Some(5));
    let keys = |token: &'static str| {
        let url = format!("{}/admin/keys", s.base);
        async move { reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("GET").status() }
    };
    assert_eq!(keys(old_token).await, 200);

    let new_token = "new-admin-token-9876543210";
    write_config(
        &file,
        &format!("admin_token = \"{new_token}\"\n[search]\ndefault_top_k = 2\n[storage]\nreaders = 2\n"),
    );
    run(Command::new("kill").args(["-HUP", &s.child.id().to_string()]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.get_json("/api/status").await["settings"]["search"]["default_top_k"] != 2 {
        assert!(Instant::now() < deadline, "SIGHUP did not apply search.default_top_k");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(search().await.1["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(keys(old_token).await, 401, "the rotated-out token is refused");
    assert_eq!(keys(new_token).await, 200);
    let status = s.get_json("/api/status").await;
    assert_eq!(status["settings"]["storage"]["readers"], 4, "storage.readers needs a restart: {status}");
    let reloaded = events_of(&s, "config_reloaded", 1).await;
    assert_eq!(reloaded.len(), 1, "{reloaded:?}");
    let details = &reloaded[0]["details"];
    assert_eq!(details["applied"], json!(["admin_token", "search.default_top_k"]), "{details}");
    assert_eq!(details["restart_required"], json!(["storage.readers"]), "{details}");
    assert!(!details.to_string().contains(new_token), "secrets never in events");
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("config_reloaded"), "{logged}");

    // An invalid file changes nothing: 400 through the route, an event, the old settings kept.
    write_config(&file, "[search]\ndefault_top_k = 2\nno_such_setting = 1\n");
    let (code, body) = s.post_json("/api/config/reload", json!({})).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_config", "{body}");
    assert!(body["error"]["message"].as_str().expect("message").contains("no_such_setting"), "{body}");
    assert_eq!(events_of(&s, "config_reload_failed", 1).await.len(), 1);
    assert_eq!(keys(new_token).await, 200);

    // Valid on its own, but not beside the running body limit (which needs a restart).
    write_config(&file, &format!("admin_token = \"{new_token}\"\n[limits]\nmax_content_bytes = 9000000\nmax_body_bytes = 9999999\n"));
    let (code, body) = s.post_json("/api/config/reload", json!({})).await;
    assert_eq!(code, 400, "{body}");
    assert!(body["error"]["message"].as_str().expect("message").contains("max_body_bytes"), "{body}");
    assert_eq!(search().await.1["results"].as_array().map(Vec::len), Some(2), "nothing changed");

    // A valid file through the route answers with the report.
    write_config(&file, &format!("admin_token = \"{new_token}\"\n[search]\ndefault_top_k = 4\n"));
    let (code, report) = s.post_json("/api/config/reload", json!({})).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["applied"], json!(["search.default_top_k"]), "{report}");
    assert_eq!(report["restart_required"], json!([]), "storage.readers is back to its running value");
    assert_eq!(search().await.1["results"].as_array().map(Vec::len), Some(4));
}
