//! Which process drives a record, for [`DirectoryJournal`](super::DirectoryJournal): an
//! advisory `flock` on `<key>.lock` (Unix), held for as long as a lease of this process is
//! current, which the kernel releases when the process dies, so a crash never leaves a record
//! taken. Elsewhere a lock file created exclusively and removed on release stands in; after a
//! crash it must be removed by hand, and the error names it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// A held file lock; released on drop.
#[derive(Debug)]
pub(crate) struct FileLock {
    #[cfg_attr(unix, allow(dead_code))]
    path: PathBuf,
    _file: File,
}

/// Takes the lock at `path` without waiting: `None` while another open file (another process,
/// or another holder in this one) has it.
#[cfg(unix)]
pub(crate) fn try_acquire(path: &Path) -> std::io::Result<Option<FileLock>> {
    use std::os::fd::AsRawFd;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    // SAFETY: `flock` only reads the descriptor, which `file` keeps open for the call.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if taken != 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(FileLock {
        path: path.to_owned(),
        _file: file,
    }))
}

#[cfg(not(unix))]
pub(crate) fn try_acquire(path: &Path) -> std::io::Result<Option<FileLock>> {
    match OpenOptions::new().create_new(true).write(true).open(path) {
        Ok(file) => Ok(Some(FileLock {
            path: path.to_owned(),
            _file: file,
        })),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
