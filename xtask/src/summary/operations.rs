//! What changed in each operation: API versions (and whether upstream deprecated the one
//! left behind or the one in use), response codes, response headers and parameters.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::normalize::media_types::{EXTENSION as MEDIA_TYPES, VERSIONS, version_of};
use crate::normalize::stable_names::UPSTREAM_ID;
use crate::walk;

use super::Summary;

/// What the summary compares of one operation.
struct Facts<'a> {
    name: String,
    upstream: String,
    request: Option<String>,
    response: Option<String>,
    operation: &'a Value,
}

fn facts(doc: &Value) -> BTreeMap<String, Facts<'_>> {
    walk::operations(doc)
        .into_iter()
        .map(|(method, path, operation)| {
            let text = |pointer: &str| {
                operation
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            let name = text("/operationId").unwrap_or_default();
            let facts = Facts {
                upstream: text(&format!("/{UPSTREAM_ID}")).unwrap_or_else(|| name.clone()),
                request: text(&format!("/{MEDIA_TYPES}/request")),
                response: text(&format!("/{MEDIA_TYPES}/response")),
                name,
                operation,
            };
            (walk::operation_key(&method, &path), facts)
        })
        .collect()
}

fn show(media_type: &Option<String>) -> &str {
    media_type
        .as_deref()
        .map(|m| version_of(m).unwrap_or(m))
        .unwrap_or("none")
}

/// Follows one local `$ref` (`#/components/<kind>/<name>`) to its target.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(walk::split_component_ref)
        .and_then(|(kind, name)| doc.pointer(&format!("/components/{kind}/{name}")))
        .unwrap_or(value)
}

/// `code → header names` of an operation's responses.
fn responses(doc: &Value, operation: &Value) -> BTreeMap<String, BTreeSet<String>> {
    operation
        .get("responses")
        .and_then(Value::as_object)
        .map(|responses| {
            responses
                .iter()
                .map(|(code, response)| {
                    let headers = resolve(doc, response)
                        .get("headers")
                        .and_then(Value::as_object)
                        .map(|h| h.keys().cloned().collect())
                        .unwrap_or_default();
                    (code.clone(), headers)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `in name` of an operation's parameters.
fn parameters(doc: &Value, operation: &Value) -> BTreeSet<String> {
    operation
        .get("parameters")
        .and_then(Value::as_array)
        .map(|parameters| {
            parameters
                .iter()
                .map(|p| resolve(doc, p))
                .filter_map(|p| {
                    Some(format!(
                        "{} parameter `{}`",
                        p.get("in")?.as_str()?,
                        p.get("name")?.as_str()?
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Deprecation and sunset upstream records for `version` of `operation` (in the new doc).
fn retirement(operation: &Value, version: &str) -> Option<String> {
    let versions = operation.get(VERSIONS)?;
    let sunset = versions
        .pointer(&format!("/sunset/{version}"))
        .and_then(Value::as_str);
    let deprecated = versions
        .get("deprecated")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|v| v.as_str() == Some(version)));
    match (deprecated, sunset) {
        (_, Some(date)) => Some(format!("has a sunset date of {date}")),
        (true, None) => Some("is marked deprecated".to_string()),
        (false, None) => None,
    }
}

fn added_removed<T: Ord + Clone>(old: &BTreeSet<T>, new: &BTreeSet<T>) -> (Vec<T>, Vec<T>) {
    (
        new.difference(old).cloned().collect(),
        old.difference(new).cloned().collect(),
    )
}

/// Fills the operation sections of `summary`.
pub(super) fn compare(old_doc: &Value, new_doc: &Value, summary: &mut Summary) {
    let (old_ops, new_ops) = (facts(old_doc), facts(new_doc));
    for (key, new) in &new_ops {
        let Some(old) = old_ops.get(key) else {
            summary
                .operations_added
                .push(format!("{key} ({})", new.name));
            continue;
        };
        let name = &new.name;
        if old.upstream != new.upstream {
            summary
                .operations_renamed
                .push(format!("{name}: {} → {}", old.upstream, new.upstream));
        }
        let mut left_behind = BTreeSet::new();
        for (part, was, now) in [
            ("request", &old.request, &new.request),
            ("response", &old.response, &new.response),
        ] {
            if was != now {
                summary.version_changes.push(format!(
                    "{name} {part}: {} → {}",
                    show(was),
                    show(now)
                ));
                left_behind.insert(show(was).to_string());
            }
        }
        for version in left_behind {
            if let Some(state) = retirement(new.operation, &version) {
                summary.deprecations.push(format!(
                    "{name}: the previous version {version} {state} upstream"
                ));
            }
        }
        // Upstream can also retire the version still in use (a pinned one, or the newest
        // when the whole operation is going away); say so once, when it first happens.
        if let Some(version) = new.response.as_deref().and_then(version_of)
            && let Some(state) = retirement(new.operation, version)
            && retirement(old.operation, version).as_ref() != Some(&state)
        {
            summary.deprecations.push(format!(
                "{name}: the version in use {version} {state} upstream"
            ));
        }
        let (old_responses, new_responses) = (
            responses(old_doc, old.operation),
            responses(new_doc, new.operation),
        );
        let codes = |r: &BTreeMap<String, BTreeSet<String>>| r.keys().cloned().collect();
        let (added, removed) = added_removed(&codes(&old_responses), &codes(&new_responses));
        for code in added {
            summary
                .responses_changed
                .push(format!("{name}: response {code} added"));
        }
        for code in removed {
            summary
                .responses_changed
                .push(format!("{name}: response {code} removed"));
        }
        for (code, new_headers) in &new_responses {
            let Some(old_headers) = old_responses.get(code) else {
                continue;
            };
            let (added, removed) = added_removed(old_headers, new_headers);
            for header in added {
                summary
                    .responses_changed
                    .push(format!("{name}: response {code} header {header} added"));
            }
            for header in removed {
                summary
                    .responses_changed
                    .push(format!("{name}: response {code} header {header} removed"));
            }
        }
        let (added, removed) = added_removed(
            &parameters(old_doc, old.operation),
            &parameters(new_doc, new.operation),
        );
        for parameter in added {
            summary
                .parameters_changed
                .push(format!("{name}: {parameter} added"));
        }
        for parameter in removed {
            summary
                .parameters_changed
                .push(format!("{name}: {parameter} removed"));
        }
    }
    for (key, old) in &old_ops {
        if !new_ops.contains_key(key) {
            summary
                .operations_removed
                .push(format!("{key} ({})", old.name));
        }
    }
}
