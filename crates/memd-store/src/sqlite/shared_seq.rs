//! The newest change-log position any process has committed to one database file, readable in
//! nanoseconds by every process that has the file open.
//!
//! Several memd processes may share a data directory (`memd serve` and the `memd mcp` processes
//! an MCP client starts). Each keeps its own indexes, fed from the store's change log; to see
//! the others' writes, a process must know when the log has grown. Asking SQLite before every
//! search would cost a query and a blocking-pool hop on the hottest path, so instead every
//! commit that writes to the log raises a 64-bit counter in a small memory-mapped file next to
//! the database (`<db>-seq`), the way SQLite's own WAL index (`-shm`) is shared, and a search
//! compares it with what its indexes have applied.
//!
//! The counter is a hint, never the truth: the change log in the database is. It only grows
//! (`fetch_max`), so a slow writer can never lower it. A process killed between its commit and
//! its bump leaves the counter behind by that commit until the next commit of any process
//! raises it past it; a restart always catches up from the log itself. A counter ahead of the
//! log (a database restored from an older copy under a running memd) only costs each search a
//! query until the log passes it again.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use memmap2::MmapMut;

use crate::{Result, StoreError};

/// Bytes of the counter file: one page, of which the first 8 bytes are the counter.
const FILE_LEN: u64 = 4096;

pub(super) struct SharedSeq {
    map: MmapMut,
}

impl SharedSeq {
    /// Maps `<db>-seq`, creating it (zeroed) if needed.
    pub(super) fn open(db: &Path) -> Result<Self> {
        let path = Self::path_for(db);
        let fail = |e: std::io::Error| StoreError::Backend(format!("{}: {e}", path.display()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(fail)?;
        if file.metadata().map_err(fail)?.len() < FILE_LEN {
            file.set_len(FILE_LEN).map_err(fail)?;
        }
        // SAFETY: the file is at least FILE_LEN bytes and memd never shrinks it; every access
        // goes through the atomic in `cell`.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(fail)?;
        Ok(Self { map })
    }

    pub(super) fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push("-seq");
        PathBuf::from(name)
    }

    fn cell(&self) -> &AtomicI64 {
        // SAFETY: the map is page-aligned (so 8-byte aligned) and at least 8 bytes long, lives
        // as long as `self`, and is only ever accessed atomically, by this and other processes
        // (lock-free 64-bit atomics on shared memory are coherent across processes).
        unsafe { &*self.map.as_ptr().cast::<AtomicI64>() }
    }

    /// The newest committed seq any process has announced.
    pub(super) fn load(&self) -> i64 {
        self.cell().load(Ordering::Acquire)
    }

    /// Announces that the log holds `seq` (ignored when the counter is already past it).
    pub(super) fn raise(&self, seq: i64) {
        self.cell().fetch_max(seq, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_maps_of_one_file_see_each_other_and_never_go_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("memd.db");
        let a = SharedSeq::open(&db).expect("open a");
        let b = SharedSeq::open(&db).expect("open b");
        assert_eq!((a.load(), b.load()), (0, 0));
        a.raise(7);
        assert_eq!(b.load(), 7);
        b.raise(5);
        assert_eq!(a.load(), 7, "a lower seq never lowers the counter");
        drop(a);
        assert_eq!(SharedSeq::open(&db).expect("reopen").load(), 7, "kept in the file");
    }
}
