//! `spec/upstream.lock`: which upstream document the committed files were generated from.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where the lock lives, relative to the workspace root.
pub const LOCK_FILE: &str = "spec/upstream.lock";

/// The identity of the upstream input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// The input's file name, or its URL.
    pub source: String,
    /// sha256 of the input's bytes, lowercase hex.
    pub sha256: String,
    /// The input's `info.version`.
    pub info_version: String,
}

impl Lock {
    /// The lock's file contents: pretty JSON with a trailing newline.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a lock always serializes");
        text.push('\n');
        text
    }

    /// The committed lock, if there is a readable one.
    pub fn read(workspace_root: &Path) -> Option<Lock> {
        let bytes = std::fs::read(workspace_root.join(LOCK_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// sha256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_lock_round_trips() {
        let lock = Lock {
            source: "atlas-api.yaml".into(),
            sha256: "00".into(),
            info_version: "2.0".into(),
        };
        let parsed: Lock = serde_json::from_str(&lock.render()).unwrap();
        assert_eq!(parsed, lock);
    }
}
