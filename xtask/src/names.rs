//! The committed mapping from `METHOD /path` to our stable snake_case operation names, so an
//! upstream operationId rename never renames a generated method.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{Error, Result};

/// Where the mapping lives, relative to the workspace root.
pub const NAMES_FILE: &str = "spec/operation-names.json";

/// `METHOD /path/template` → stable snake_case name.
pub type NameMap = BTreeMap<String, String>;

/// Reads the committed mapping; a missing file is an empty mapping.
pub fn load(workspace_root: &Path) -> Result<NameMap> {
    let path = workspace_root.join(NAMES_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Error::new(format!("{NAMES_FILE} is not a JSON object of strings: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(NameMap::new()),
        Err(e) => Err(Error::new(format!("cannot read {NAMES_FILE}: {e}"))),
    }
}

/// `createPushMigration` → `create_push_migration`; also folds `-`, `.` and spaces.
pub fn snake_case(identifier: &str) -> String {
    let mut out = String::with_capacity(identifier.len() + 4);
    let mut previous_lower_or_digit = false;
    for c in identifier.chars() {
        if c.is_ascii_uppercase() {
            if previous_lower_or_digit {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower_or_digit = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            previous_lower_or_digit = true;
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
            previous_lower_or_digit = false;
        }
    }
    out.trim_end_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_of_operation_ids() {
        assert_eq!(snake_case("createPushMigration"), "create_push_migration");
        assert_eq!(snake_case("getValidationStatus"), "get_validation_status");
        assert_eq!(snake_case("listV2Things"), "list_v2_things");
        assert_eq!(snake_case("do-thing.now"), "do_thing_now");
    }

    #[test]
    fn the_committed_mapping_covers_the_eight_operations() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let names = load(root).unwrap();
        assert_eq!(names.len(), 8);
        assert_eq!(
            names["POST /api/atlas/v2/groups/{groupId}/liveMigrations"], "create_migration",
            "the client's name for the operation"
        );
    }
}
