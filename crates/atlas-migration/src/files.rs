//! Files that several processes read and replace: each write replaces the whole file,
//! durably, so that a reader (or a process after a crash) finds either the old content or the
//! new, never half of one.

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` through the temporary file `temp` (in the same directory,
/// not existing yet): written, synced, renamed over `path`, and the rename made durable. On
/// failure the temporary file is removed and `path` is as it was.
pub(crate) fn replace(temp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(temp, path)?;
        match path.parent() {
            Some(dir) => sync_dir(dir),
            None => Ok(()),
        }
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    written
}

/// Makes a rename in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}
