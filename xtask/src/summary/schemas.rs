//! What changed in each component schema, field by field: fields added or removed, fields
//! that became required or optional, nullability, enum values and types. Inline objects,
//! array items and map values are followed (`Schema.field.inner`, `Schema.list[]`,
//! `Schema.map.*`); a `$ref` is not, since its target is compared as a schema of its own.
//! Changes that can make a reply that used to decode fail are also listed under "may break
//! decoding".

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::walk;

use super::Summary;

/// The extension open enums record their known values in (see `normalize::open_enums`).
const KNOWN_VALUES: &str = "x-known-values";

fn schemas(doc: &Value) -> BTreeMap<String, &Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default()
}

fn properties(schema: &Value) -> BTreeMap<&str, &Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

fn required(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `$ref` target, or `type` with its `format` (`int32` and `int64` decode into different
/// integer types). An array's items are compared as a field of their own (`field[]`).
fn type_of(field: &Value) -> String {
    if let Some(target) = field.get("$ref").and_then(Value::as_str) {
        return target.rsplit('/').next().unwrap_or(target).to_string();
    }
    let kind = field.get("type").and_then(Value::as_str).unwrap_or("any");
    match field.get("format").and_then(Value::as_str) {
        Some(format) => format!("{kind} ({format})"),
        None => kind.to_string(),
    }
}

/// The enum values of a field and whether the enum is closed (`enum`) or open (known values
/// of an enum normalization opened).
fn enum_values(field: &Value) -> Option<(bool, BTreeSet<&str>)> {
    let (closed, values) = match (field.get("enum"), field.get(KNOWN_VALUES)) {
        (Some(values), _) => (true, values),
        (None, Some(values)) => (false, values),
        (None, None) => return None,
    };
    let values = values
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    Some((closed, values))
}

fn nullable(field: &Value) -> bool {
    field.get("nullable").and_then(Value::as_bool) == Some(true)
}

/// Fills the schema sections of `summary`.
pub(super) fn compare(old_doc: &Value, new_doc: &Value, summary: &mut Summary) {
    let (old_schemas, new_schemas) = (schemas(old_doc), schemas(new_doc));
    let replies = walk::reply_schemas(new_doc);
    for (name, new) in &new_schemas {
        let Some(old) = old_schemas.get(name) else {
            summary.schemas_added.push(name.clone());
            continue;
        };
        if old == new {
            continue;
        }
        summary.schemas_changed.push(name.clone());
        let in_reply = replies.contains(name);
        let mut changes = SchemaChanges {
            summary: &mut *summary,
            in_reply,
        };
        changes.node(name, old, new);
    }
    for name in old_schemas.keys() {
        if !new_schemas.contains_key(name) {
            summary.schemas_removed.push(name.clone());
        }
    }
}

struct SchemaChanges<'a> {
    summary: &'a mut Summary,
    in_reply: bool,
}

impl SchemaChanges<'_> {
    fn note(&mut self, what: String, breaks_replies: bool) {
        if breaks_replies && self.in_reply {
            self.summary.may_break_decoding.push(what.clone());
        }
        self.summary.fields_changed.push(what);
    }

    /// Compares one schema node: itself, its properties, its items and its map values.
    fn node(&mut self, label: &str, old: &Value, new: &Value) {
        self.field(label, old, new);
        self.fields(label, old, new);
        for (part, suffix) in [("items", "[]"), ("additionalProperties", ".*")] {
            if let (Some(old_part), Some(new_part)) = (old.get(part), new.get(part))
                && old_part.is_object()
                && new_part.is_object()
            {
                self.node(&format!("{label}{suffix}"), old_part, new_part);
            }
        }
    }

    fn fields(&mut self, schema: &str, old: &Value, new: &Value) {
        let (old_fields, new_fields) = (properties(old), properties(new));
        let (old_required, new_required) = (required(old), required(new));
        for (field, new_field) in &new_fields {
            let label = format!("{schema}.{field}");
            let Some(old_field) = old_fields.get(field) else {
                let required = new_required.contains(field);
                let text = if required {
                    format!("{label} added, required")
                } else {
                    format!("{label} added")
                };
                self.note(text, required);
                continue;
            };
            match (old_required.contains(field), new_required.contains(field)) {
                (false, true) => {
                    let why = if self.in_reply {
                        " (a reply without it no longer decodes)"
                    } else {
                        ""
                    };
                    self.note(format!("{label} became required{why}"), true);
                }
                (true, false) => self.note(format!("{label} became optional"), false),
                _ => {}
            }
            self.node(&label, old_field, new_field);
        }
        for field in old_fields.keys() {
            if !new_fields.contains_key(field) {
                self.note(format!("{schema}.{field} removed"), false);
            }
        }
    }

    fn field(&mut self, label: &str, old: &Value, new: &Value) {
        match (nullable(old), nullable(new)) {
            (true, false) => self.note(format!("{label} is no longer nullable"), true),
            (false, true) => self.note(format!("{label} became nullable"), false),
            _ => {}
        }
        let (was, now) = (type_of(old), type_of(new));
        if was != now && (old.get("type").is_some() || old.get("$ref").is_some()) {
            self.note(format!("{label} changed type: {was} → {now}"), true);
        }
        if let (Some((_, old_values)), Some((closed, new_values))) =
            (enum_values(old), enum_values(new))
        {
            for value in new_values.difference(&old_values) {
                self.note(format!("{label} enum value {value} added"), false);
            }
            for value in old_values.difference(&new_values) {
                // A value the server no longer sends breaks nothing; a closed enum that
                // lost a value the server still sends would.
                self.note(format!("{label} enum value {value} removed"), closed);
            }
        }
    }
}
