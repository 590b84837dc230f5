//! The throwaway file behind [`SqliteStore::in_memory`](super::SqliteStore::in_memory).

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A new, empty file in the system's temporary directory, removed (with its
/// write-ahead log and shared-memory index) on drop.
#[derive(Debug)]
pub(super) struct TempFile {
    pub(super) path: PathBuf,
}

impl TempFile {
    /// Creates the file under a name no other store (in this process or another) has.
    pub(super) fn new() -> io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("o2c-{}-{nanos}-{n}.sqlite3", std::process::id()));
            // `create_new` makes the name ours atomically; a clash just takes the next.
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(Self { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn with_suffix(&self, suffix: &str) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(suffix);
        PathBuf::from(name)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            // A file that is already gone (or never existed) is what we want; any other
            // failure leaves litter in the temp directory, which is its purpose.
            let _ = std::fs::remove_file(self.with_suffix(suffix));
        }
    }
}
