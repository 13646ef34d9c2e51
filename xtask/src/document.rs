//! Parsing the upstream document (YAML or JSON) into a JSON value, and checking that it is
//! an OpenAPI 3.0.x document.

use serde_json::Value;

use crate::{Error, Result};

/// Parses `bytes` as JSON when it looks like JSON, as YAML otherwise.
pub fn parse(bytes: &[u8]) -> Result<Value> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let value: Value = if first == Some(&b'{') {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::new(format!("the spec is not valid JSON: {e}")))?
    } else {
        serde_yaml_ng::from_slice(bytes)
            .map_err(|e| Error::new(format!("the spec is not valid YAML: {e}")))?
    };
    check_openapi_3_0(&value)?;
    Ok(value)
}

/// Fails unless `doc` declares `openapi: 3.0.x` and has `paths`.
pub fn check_openapi_3_0(doc: &Value) -> Result<()> {
    let Some(object) = doc.as_object() else {
        return Err(Error::new(
            "the spec is not an OpenAPI document (not a mapping)",
        ));
    };
    match object.get("openapi").and_then(Value::as_str) {
        Some(version) if version.starts_with("3.0.") => {}
        Some(version) => {
            return Err(Error::new(format!(
                "the spec is OpenAPI {version}; only OpenAPI 3.0.x is supported"
            )));
        }
        None => {
            return Err(Error::new(
                "the spec is not an OpenAPI 3.0.x document (no `openapi` version field)",
            ));
        }
    }
    if !object.get("paths").is_some_and(Value::is_object) {
        return Err(Error::new("the spec has no `paths` mapping"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_parse_to_the_same_value() {
        let yaml = b"openapi: 3.0.1\npaths: {}\ninfo:\n  title: t\n";
        let json = br#"{"openapi": "3.0.1", "paths": {}, "info": {"title": "t"}}"#;
        assert_eq!(parse(yaml).unwrap(), parse(json).unwrap());
    }

    #[test]
    fn openapi_3_1_is_rejected() {
        let error = parse(b"openapi: 3.1.0\npaths: {}\n").unwrap_err();
        assert!(error.message().contains("only OpenAPI 3.0.x"), "{error}");
    }

    #[test]
    fn swagger_2_is_rejected() {
        let error = parse(br#"{"swagger": "2.0", "paths": {}}"#).unwrap_err();
        assert!(error.message().contains("no `openapi` version"), "{error}");
    }

    #[test]
    fn garbage_is_a_one_line_error() {
        let error = parse(b"{ not json").unwrap_err();
        assert!(
            error.message().starts_with("the spec is not valid JSON"),
            "{error}"
        );
        let error = parse(b"a: [unclosed\n  b: c").unwrap_err();
        assert!(
            error.message().starts_with("the spec is not valid YAML"),
            "{error}"
        );
        assert!(!error.message().contains('\n'));
    }
}
