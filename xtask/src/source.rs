//! Where the upstream spec comes from: a file, an https URL, or (by default) the newest
//! version upstream publishes.

use std::path::Path;
use std::time::Duration;

use crate::{Error, Result};

/// Upstream's list of published API versions.
pub const VERSIONS_URL: &str =
    "https://raw.githubusercontent.com/mongodb/openapi/main/openapi/v2/versions.json";

/// The versioned spec of one published API version.
pub fn versioned_spec_url(version: &str) -> String {
    format!(
        "https://raw.githubusercontent.com/mongodb/openapi/main/openapi/v2/openapi-{version}.yaml"
    )
}

/// The raw upstream spec and the name it is recorded under in `spec/upstream.lock`.
#[derive(Debug, Clone)]
pub struct Input {
    /// The document as read.
    pub bytes: Vec<u8>,
    /// The file name (not the path, so the same file read from elsewhere locks the same) or
    /// the URL.
    pub name: String,
}

/// Reads the spec named by `--spec`, or the newest published one when it is absent.
pub fn load(spec: Option<&str>) -> Result<Input> {
    match spec {
        Some(location) if is_url(location) => Ok(Input {
            bytes: fetch(location)?,
            name: location.to_string(),
        }),
        Some(path) => read_file(Path::new(path)),
        None => {
            let version = latest_version(&fetch(VERSIONS_URL)?)?;
            let url = versioned_spec_url(&version);
            Ok(Input {
                bytes: fetch(&url)?,
                name: url,
            })
        }
    }
}

/// The committed normalized spec, for `--offline`: regenerating from it must reproduce
/// every committed file.
pub fn committed(workspace_root: &Path, spec_file: &str) -> Result<Input> {
    let path = workspace_root.join(spec_file);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::new(format!(
            "cannot read the committed spec {}: {e}",
            path.display()
        ))
    })?;
    Ok(Input {
        bytes,
        name: spec_file.to_string(),
    })
}

fn is_url(location: &str) -> bool {
    location.starts_with("https://") || location.starts_with("http://")
}

fn read_file(path: &Path) -> Result<Input> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::new(format!("cannot read spec file {}: {e}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(Input { bytes, name })
}

fn fetch(url: &str) -> Result<Vec<u8>> {
    let failed = |reason: String| Error::new(format!("cannot fetch {url}: {reason}"));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("atlas-migration-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let response = client.get(url).send().map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")));
    }
    let bytes = response.bytes().map_err(|e| failed(e.to_string()))?;
    Ok(bytes.to_vec())
}

/// Picks the newest dated version (`YYYY-MM-DD`) from upstream's `versions.json`.
pub fn latest_version(versions_json: &[u8]) -> Result<String> {
    let versions: Vec<String> = serde_json::from_slice(versions_json)
        .map_err(|e| Error::new(format!("versions.json is not a list of strings: {e}")))?;
    versions
        .into_iter()
        .filter(|v| is_date(v))
        .max()
        .ok_or_else(|| Error::new("versions.json lists no dated version"))
}

/// Whether `version` is a `YYYY-MM-DD` date, the form of Atlas API versions.
pub fn is_date(version: &str) -> bool {
    let bytes = version.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_version_picks_the_newest_date_and_ignores_previews() {
        let json =
            br#"["2023-01-01", "2025-03-12", "preview", "2024-05-30", "2025-03-12.upcoming"]"#;
        assert_eq!(latest_version(json).unwrap(), "2025-03-12");
    }

    #[test]
    fn latest_version_rejects_a_list_without_dates() {
        let error = latest_version(br#"["preview"]"#).unwrap_err();
        assert!(error.message().contains("no dated version"), "{error}");
    }

    #[test]
    fn a_missing_file_is_a_one_line_error() {
        let error = load(Some("/definitely/not/here.yaml")).unwrap_err();
        assert!(
            error.message().starts_with("cannot read spec file"),
            "{error}"
        );
        assert!(!error.message().contains('\n'));
    }

    #[test]
    fn an_unreachable_url_is_a_one_line_error() {
        // Port 9 on loopback (discard) is closed here: the connection is refused at once.
        let error = load(Some("http://127.0.0.1:9/spec.yaml")).unwrap_err();
        assert!(
            error
                .message()
                .starts_with("cannot fetch http://127.0.0.1:9/spec.yaml"),
            "{error}"
        );
    }

    #[test]
    fn a_file_is_recorded_by_its_name_only() {
        let dir = std::env::temp_dir().join(format!("xtask-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("spec.json");
        std::fs::write(&path, b"{}").unwrap();
        let input = load(Some(path.to_str().unwrap())).unwrap();
        assert_eq!(input.name, "spec.json");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
