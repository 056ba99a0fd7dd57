//! Whether the data directory still takes writes: a read-only remount after disk errors, a full
//! volume or a broken device show here before the next client write fails. Like Elasticsearch's
//! file-system health check, it writes, fsyncs and removes a small file — at most once per
//! [`PROBE_TTL`], however often health is polled.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a probe's answer is reused.
pub const PROBE_TTL: Duration = Duration::from_secs(2);

/// Name of the probe file, beside the database.
const PROBE_FILE: &str = ".memd-write-probe";

/// The cached outcome of the last write probe of one directory.
pub struct DataDirProbe {
    dir: PathBuf,
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl DataDirProbe {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DataDirProbe { dir: dir.into(), last: Mutex::new(None) }
    }

    /// `Err(why)` when the directory does not take writes. Blocking (file I/O and fsync): call
    /// it off the async runtime.
    pub fn check(&self) -> Result<(), String> {
        if let Some((at, outcome)) = &*self.last.lock() {
            if at.elapsed() < PROBE_TTL {
                return outcome.clone();
            }
        }
        let outcome = probe(&self.dir);
        *self.last.lock() = Some((Instant::now(), outcome.clone()));
        outcome
    }
}

/// Writes, fsyncs and removes a probe file in `dir`.
fn probe(dir: &Path) -> Result<(), String> {
    if crate::process::read_only_mount(dir) == Some(true) {
        return Err("file system mounted read-only".to_owned());
    }
    let path = dir.join(PROBE_FILE);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&path)?;
        f.write_all(b"memd write probe\n")?;
        f.sync_all()
    };
    let written = write().map_err(|e| format!("cannot write a file in it: {e}"));
    let removed = std::fs::remove_file(&path);
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
}
