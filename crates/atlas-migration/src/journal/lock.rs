//! One process at a time per record, for [`DirectoryJournal`](super::DirectoryJournal): an
//! advisory `flock` on `<key>.lock` (Unix), which the kernel releases when the process dies,
//! so a crash never leaves a record locked. Elsewhere a lock file created exclusively and
//! removed on release stands in; after a crash it must be removed by hand, and the error
//! names it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::{JournalError, JournalErrorKind, RecordLock};

/// A held record lock; released on drop.
pub(crate) struct FileLock {
    #[cfg_attr(unix, allow(dead_code))]
    path: PathBuf,
    _file: File,
}

impl RecordLock for FileLock {}

#[cfg(unix)]
pub(crate) fn acquire(key: &str, path: &Path) -> Result<FileLock, JournalError> {
    use std::os::fd::AsRawFd;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| {
            JournalError::new(JournalErrorKind::Io, key, "cannot open the lock file")
                .at(path)
                .caused_by(e)
        })?;
    // SAFETY: `flock` only reads the descriptor, which `file` keeps open for the call.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if taken != 0 {
        let e = std::io::Error::last_os_error();
        let kind = if e.kind() == std::io::ErrorKind::WouldBlock {
            JournalErrorKind::Locked
        } else {
            JournalErrorKind::Io
        };
        let message = match kind {
            JournalErrorKind::Locked => "another process (or workflow) is driving this record",
            _ => "cannot lock the record",
        };
        return Err(JournalError::new(kind, key, message).at(path).caused_by(e));
    }
    Ok(FileLock {
        path: path.to_owned(),
        _file: file,
    })
}

#[cfg(not(unix))]
pub(crate) fn acquire(key: &str, path: &Path) -> Result<FileLock, JournalError> {
    let file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(path)
        .map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::AlreadyExists {
                JournalErrorKind::Locked
            } else {
                JournalErrorKind::Io
            };
            JournalError::new(
                kind,
                key,
                "the lock file exists: another process drives this record, or one crashed \
                 (then remove the file)",
            )
            .at(path)
            .caused_by(e)
        })?;
    Ok(FileLock {
        path: path.to_owned(),
        _file: file,
    })
}

#[cfg(not(unix))]
impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
