//! `spec/version-pins.json`: operations held at an API version other than the newest.
//!
//! Keys are `METHOD /path` (as in `spec/operation-names.json`), values `YYYY-MM-DD` versions.
//! A missing file holds no pins. Regen keeps a pinned version while upstream offers it,
//! warns when upstream marks it deprecated or gives it a sunset date, and fails when upstream
//! no longer offers it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::source::is_date;
use crate::{Error, Result};

/// Where the pins live, relative to the workspace root.
pub const PINS_FILE: &str = "spec/version-pins.json";

/// `METHOD /path` → pinned version date.
pub type Pins = BTreeMap<String, String>;

/// Reads and checks the committed pins; a missing file is no pins.
pub fn load(workspace_root: &Path) -> Result<Pins> {
    let bytes = match std::fs::read(workspace_root.join(PINS_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pins::new()),
        Err(e) => return Err(Error::new(format!("cannot read {PINS_FILE}: {e}"))),
    };
    parse(&bytes)
}

/// Parses pins: a JSON object of `"METHOD /path": "YYYY-MM-DD"`.
pub fn parse(bytes: &[u8]) -> Result<Pins> {
    let pins: Pins = serde_json::from_slice(bytes).map_err(|e| {
        Error::new(format!(
            "{PINS_FILE} is not a JSON object of \"METHOD /path\": \"YYYY-MM-DD\" entries: {e}"
        ))
    })?;
    for (operation, version) in &pins {
        if !is_date(version) {
            return Err(Error::new(format!(
                "{PINS_FILE}: {operation} is pinned to {version:?}, which is not a YYYY-MM-DD API version"
            )));
        }
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_and_bad_values_are_one_line_errors() {
        let pins = parse(br#"{"POST /m": "2023-01-01"}"#).unwrap();
        assert_eq!(pins["POST /m"], "2023-01-01");
        for (bad, expected) in [
            (&b"[1]"[..], "is not a JSON object"),
            (br#"{"POST /m": 1}"#, "is not a JSON object"),
            (br#"{"POST /m": "latest"}"#, "not a YYYY-MM-DD"),
            (b"{", "is not a JSON object"),
        ] {
            let error = parse(bad).unwrap_err();
            assert!(error.message().contains(expected), "{error}");
            assert!(!error.message().contains('\n'));
        }
    }

    #[test]
    fn a_missing_file_holds_no_pins() {
        let root = std::env::temp_dir().join(format!("xtask-pins-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        assert!(load(&root).unwrap().is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
