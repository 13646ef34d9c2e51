//! [`DirectoryJournal`]: one JSON file per workflow in a directory, written atomically
//! (temporary file, fsync, rename, fsync of the directory) and locked per record.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::record::FORMAT;
use super::{Journal, JournalError, JournalErrorKind, JournalFuture, RecordLock, WorkflowRecord};

/// Records larger than this are refused as corrupt (a real one is about a kilobyte).
const MAX_RECORD: u64 = 1024 * 1024;

/// Workflow records as files `<key>.json` in one directory, each locked by the process that
/// drives it (`<key>.lock`). Needs no server; survives crashes (a save is complete or absent,
/// never half written) and refuses a corrupt or foreign file without touching it.
///
/// ```no_run
/// use std::sync::Arc;
/// use atlas_migration::journal::DirectoryJournal;
///
/// let journal = Arc::new(DirectoryJournal::open("/var/lib/my-service/migrations")?);
/// # Ok::<(), atlas_migration::journal::JournalError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DirectoryJournal {
    dir: Arc<PathBuf>,
}

impl DirectoryJournal {
    /// A journal in `dir`, created if missing.
    ///
    /// ```no_run
    /// let journal = atlas_migration::journal::DirectoryJournal::open("migrations")?;
    /// # Ok::<(), atlas_migration::journal::JournalError>(())
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, JournalError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            JournalError::new(
                JournalErrorKind::Io,
                "",
                "cannot create the journal directory",
            )
            .at(dir)
            .caused_by(e)
        })?;
        Ok(Self {
            dir: Arc::new(dir.to_owned()),
        })
    }

    /// The file holding `key`'s record.
    ///
    /// ```no_run
    /// # let journal = atlas_migration::journal::DirectoryJournal::open("migrations").unwrap();
    /// println!("{}", journal.record_path("orders").display());
    /// ```
    pub fn record_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    fn io(key: &str, path: &Path, what: &str, e: std::io::Error) -> JournalError {
        JournalError::new(JournalErrorKind::Io, key, what)
            .at(path)
            .caused_by(e)
    }

    fn load_now(&self, key: &str) -> Result<Option<WorkflowRecord>, JournalError> {
        let path = self.record_path(key);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::io(key, &path, "cannot open the record", e)),
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_RECORD + 1), &mut bytes)
            .map_err(|e| Self::io(key, &path, "cannot read the record", e))?;
        let corrupt =
            |why: String| JournalError::new(JournalErrorKind::Corrupt, key, why).at(&path);
        if bytes.len() as u64 > MAX_RECORD {
            return Err(corrupt(format!("larger than {MAX_RECORD} bytes")));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not a JSON record ({e})")))?;
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        let named = value.get("key").and_then(serde_json::Value::as_str);
        if format != Some(u64::from(FORMAT)) || named != Some(key) {
            return Err(JournalError::new(
                JournalErrorKind::Foreign,
                key,
                format!(
                    "not a format-{FORMAT} record of this key (format {format:?}, key {named:?})"
                ),
            )
            .at(&path));
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| corrupt(format!("not a workflow record ({e})")))
    }

    fn save_now(&self, record: &WorkflowRecord) -> Result<(), JournalError> {
        let key = record.key.as_str();
        super::check_key(key)
            .map_err(|e| JournalError::new(JournalErrorKind::Other, key, e.to_string()))?;
        let path = self.record_path(key);
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| {
            JournalError::new(JournalErrorKind::Other, key, "cannot serialize the record")
                .caused_by(e)
        })?;
        let temp = self.dir.join(format!(
            ".{key}.json.{}.{}.tmp",
            std::process::id(),
            fastrand::u64(..)
        ));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            sync_dir(&self.dir)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(Self::io(key, &path, "cannot save the record", e));
        }
        Ok(())
    }

    fn keys_now(&self) -> Result<Vec<String>, JournalError> {
        let entries = std::fs::read_dir(&*self.dir)
            .map_err(|e| Self::io("", &self.dir, "cannot list the journal", e))?;
        let mut keys: Vec<String> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let key = name.strip_suffix(".json")?;
                super::check_key(key).ok().map(|()| key.to_owned())
            })
            .collect();
        keys.sort();
        Ok(keys)
    }
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

/// Runs blocking file work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, JournalError> + Send + 'static,
) -> Result<T, JournalError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(JournalError::new(
            JournalErrorKind::Other,
            "",
            format!("journal task failed: {e}"),
        ))
    })
}

impl Journal for DirectoryJournal {
    fn lock<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Box<dyn RecordLock>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking(move || {
            let path = this.dir.join(format!("{key}.lock"));
            super::lock::acquire(&key, &path).map(|l| Box::new(l) as Box<dyn RecordLock>)
        }))
    }

    fn load<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Option<WorkflowRecord>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking(move || this.load_now(&key)))
    }

    fn save<'a>(&'a self, record: &'a WorkflowRecord) -> JournalFuture<'a, ()> {
        let (this, record) = (self.clone(), record.clone());
        Box::pin(blocking(move || this.save_now(&record)))
    }

    fn keys(&self) -> JournalFuture<'_, Vec<String>> {
        let this = self.clone();
        Box::pin(blocking(move || this.keys_now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GroupId;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "journal-test-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn group() -> GroupId {
        "32b6e34b3d91647abb20e7b8".parse().unwrap()
    }

    #[tokio::test]
    async fn saves_atomically_and_loads_back() {
        let dir = scratch();
        let j = DirectoryJournal::open(&dir).unwrap();
        assert!(j.load("orders").await.unwrap().is_none());
        let mut record = WorkflowRecord::new("orders", &group(), None);
        record.create_intent_at = Some(chrono::Utc::now());
        j.save(&record).await.unwrap();
        let back = j.load("orders").await.unwrap().unwrap();
        assert!(back.create_may_have_happened());
        assert_eq!(j.keys().await.unwrap(), ["orders"]);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn corrupt_truncated_and_foreign_files_are_typed_errors_naming_the_file() {
        let dir = scratch();
        let j = DirectoryJournal::open(&dir).unwrap();
        let good = WorkflowRecord::new("good", &group(), None);
        j.save(&good).await.unwrap();
        let full = std::fs::read(j.record_path("good")).unwrap();
        let cases: [(&str, Vec<u8>, JournalErrorKind); 4] = [
            (
                "truncated",
                full[..full.len() / 2].to_vec(),
                JournalErrorKind::Corrupt,
            ),
            (
                "garbage",
                b"\x00\xffnot json".to_vec(),
                JournalErrorKind::Corrupt,
            ),
            ("other-key", full.clone(), JournalErrorKind::Foreign),
            (
                "future",
                br#"{"format": 9, "key": "future"}"#.to_vec(),
                JournalErrorKind::Foreign,
            ),
        ];
        for (key, bytes, kind) in cases {
            std::fs::write(j.record_path(key), &bytes).unwrap();
            let e = j.load(key).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{key}: {e}");
            assert!(e.to_string().contains(&format!("{key}.json")), "{e}");
            assert_eq!(
                std::fs::read(j.record_path(key)).unwrap(),
                bytes,
                "untouched"
            );
        }
        assert!(
            j.load("good").await.unwrap().is_some(),
            "the others keep working"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_record_is_driven_by_one_holder_at_a_time() {
        let dir = scratch();
        let j = DirectoryJournal::open(&dir).unwrap();
        let held = j.lock("orders").await.unwrap();
        let e = j.lock("orders").await.err().expect("second lock refused");
        assert_eq!(e.kind(), JournalErrorKind::Locked);
        assert!(j.lock("other").await.is_ok(), "other records are free");
        drop(held);
        assert!(j.lock("orders").await.is_ok(), "released on drop");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
