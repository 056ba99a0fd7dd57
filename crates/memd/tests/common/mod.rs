//! What every end-to-end test binary of this crate shares: the real `memd` binary on a temporary
//! data directory, and a `memd serve` on a free loopback port (killed on drop).
#![allow(dead_code)] // each test binary uses its own part

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// `memd ARGS --data-dir DATA`, logging only warnings.
pub fn memd(args: &[&str], data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_memd"));
    c.args(args).arg("--data-dir").arg(data).env("MEMD_LOG_LEVEL", "warn");
    c
}

/// `POST url` with a JSON body: the status and the body as JSON (`Null` if none).
pub async fn post(c: &reqwest::Client, url: String, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = c.post(&url).json(&body).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// `memd serve` on a free loopback port.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts the server and waits until it is ready.
    pub async fn start(data: &Path) -> Server {
        let mut s = Self::spawn(data);
        s.wait_ready().await;
        s
    }

    /// [`Server::start`] with extra environment (settings as `MEMD_*`).
    pub async fn start_with_env(data: &Path, env: &[(&str, String)]) -> Server {
        let mut s = Self::spawn_with(data, env);
        s.wait_ready().await;
        s
    }

    /// [`Server::start`] with extra arguments, environment, and stderr written to `log`.
    pub async fn start_logging(data: &Path, args: &[&str], env: &[(&str, String)], log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("log file");
        let mut s = Self::spawn_full(data, args, env, Stdio::from(file));
        s.wait_ready().await;
        s
    }

    /// [`Server::start`] for tests without an async runtime.
    pub fn start_blocking(data: &Path) -> Server {
        let mut s = Self::spawn(data);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(s.wait_ready());
        s
    }

    fn spawn(data: &Path) -> Server {
        Self::spawn_with(data, &[])
    }

    fn spawn_with(data: &Path, env: &[(&str, String)]) -> Server {
        Self::spawn_full(data, &[], env, Stdio::inherit())
    }

    fn spawn_full(data: &Path, args: &[&str], env: &[(&str, String)], stderr: Stdio) -> Server {
        let listen = format!("127.0.0.1:{}", free_port());
        let child = memd(&["serve", "--listen", &listen], data)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn memd serve");
        Server { child, base: format!("http://{listen}") }
    }

    /// `memd serve` started through `wrapper`, a command that ends by exec-ing the arguments
    /// after it (so the child's pid is the server's), e.g. `unshare` into a mount namespace.
    pub async fn start_wrapped(data: &Path, wrapper: &[&str], env: &[(&str, String)]) -> Server {
        let listen = format!("127.0.0.1:{}", free_port());
        let child = Command::new(wrapper[0])
            .args(&wrapper[1..])
            .arg(env!("CARGO_BIN_EXE_memd"))
            .args(["serve", "--listen", &listen, "--data-dir"])
            .arg(data)
            .env("MEMD_LOG_LEVEL", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {wrapper:?}: {e}"));
        let mut s = Server { child, base: format!("http://{listen}") };
        s.wait_ready().await;
        s
    }

    /// Waits for `/health/ready` to answer 200; fails at once if the process exits instead.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("memd serve exited before it was ready: {status}");
            }
            if let Ok(r) = reqwest::get(format!("{}/health/ready", self.base)).await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "memd serve did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET {base}{path}` as JSON (panics on a transport error or a body that is not JSON).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let r =
            reqwest::get(format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        r.json().await.unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
    }

    /// `POST {base}{path}` with a JSON body: see [`post`].
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        post(&reqwest::Client::new(), format!("{}{path}", self.base), body).await
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
