//! Whether the data directory still takes writes: a read-only remount after disk errors, a full
//! volume or a broken device show here before the next client write fails. Like Elasticsearch's
//! file-system health check, it writes, fsyncs and removes a small file — at most once per
//! [`PROBE_TTL`], however often health is polled, and one probe at a time (a hung file system
//! ties up one thread, not one per health request).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a probe's answer is reused.
pub const PROBE_TTL: Duration = Duration::from_secs(2);
/// Name of the probe file, beside the database (followed by the process id).
const PROBE_FILE: &str = ".memd-write-probe";
/// A probe running longer than this means the file system hangs.
pub const PROBE_HUNG: Duration = Duration::from_secs(5);

/// The cached outcome of the last write probe of one directory; one probe runs at a time.
pub struct DataDirProbe {
    dir: PathBuf,
    state: Mutex<ProbeState>,
}

#[derive(Default)]
struct ProbeState {
    last: Option<(Instant, Result<(), String>)>,
    /// When the probe in progress started.
    running_since: Option<Instant>,
}

impl DataDirProbe {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DataDirProbe { dir: dir.into(), state: Mutex::new(ProbeState::default()) }
    }

    /// `Err(why)` when the directory does not take writes. Blocking (file I/O and fsync): call
    /// it off the async runtime. While a probe runs, other callers get the last answer at once
    /// (or, once it has run for [`PROBE_HUNG`], that the file system hangs).
    pub fn check(&self) -> Result<(), String> {
        {
            let mut st = self.state.lock();
            if let Some(since) = st.running_since {
                return match since.elapsed() {
                    t if t >= PROBE_HUNG => {
                        Err(format!("a write probe has not returned for {} s", t.as_secs()))
                    }
                    _ => st.last.as_ref().map_or(Ok(()), |(_, outcome)| outcome.clone()),
                };
            }
            if let Some((at, outcome)) = &st.last {
                if at.elapsed() < PROBE_TTL {
                    return outcome.clone();
                }
            }
            st.running_since = Some(Instant::now());
        }
        let outcome = probe(&self.dir);
        let mut st = self.state.lock();
        st.running_since = None;
        st.last = Some((Instant::now(), outcome.clone()));
        outcome
    }
}

/// Writes, fsyncs and removes a probe file in `dir`.
fn probe(dir: &Path) -> Result<(), String> {
    if crate::process::read_only_mount(dir) == Some(true) {
        return Err("file system mounted read-only".to_owned());
    }
    // Per process: a `memd mcp` on the same data directory probes its own file.
    let path = dir.join(format!("{PROBE_FILE}-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&path)?;
        f.write_all(b"memd write probe\n")?;
        f.sync_all()
    };
    let written = write().map_err(|e| format!("cannot write a file in it: {e}"));
    let removed = match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    written?;
    removed.map_err(|e| format!("cannot remove a file from it: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_directory_passes_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = DataDirProbe::new(dir.path());
        assert_eq!(p.check(), Ok(()));
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
    }

    #[test]
    fn a_missing_directory_fails_with_the_reason_and_the_answer_is_cached() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = dir.path().join("gone");
        let p = DataDirProbe::new(&gone);
        let why = p.check().expect_err("missing directory");
        assert!(why.contains("No such file"), "{why}");
        std::fs::create_dir(&gone).expect("mkdir");
        assert_eq!(p.check(), Err(why), "reused within the TTL");
    }

    #[test]
    fn while_a_probe_runs_others_get_the_last_answer_until_it_looks_hung() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = DataDirProbe::new(dir.path());
        let stale = Instant::now() - PROBE_TTL;
        *p.state.lock() = ProbeState { last: Some((stale, Ok(()))), running_since: Some(Instant::now()) };
        assert_eq!(p.check(), Ok(()), "the last answer, no second probe");
        p.state.lock().running_since = Some(Instant::now() - PROBE_HUNG);
        let why = p.check().expect_err("hung");
        assert!(why.contains("has not returned"), "{why}");
    }
}
