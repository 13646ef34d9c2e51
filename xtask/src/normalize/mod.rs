//! Normalization: small, named rewrites that make the trimmed spec generate a client that
//! is stable and accepts everything the server sends. They run in the order listed.

pub mod constraints;
pub mod description;
pub mod empty_content;
pub mod media_types;
pub mod open_enums;
pub mod shard_keys;
pub mod stable_names;

use serde_json::Value;

use crate::Result;
use crate::names::NameMap;
use crate::pins::Pins;

/// What normalization noticed that a person should know about.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Notes {
    /// Operations that have no entry in the stable-name mapping, with the name derived for
    /// them.
    pub unmapped_operations: Vec<String>,
    /// Steps that found nothing to change (a sign that upstream moved on).
    pub idle_steps: Vec<&'static str>,
    /// Pinned versions upstream marks deprecated or gives a sunset date.
    pub pin_warnings: Vec<String>,
}

/// Runs every step on `doc`.
pub fn normalize(doc: &mut Value, names: &NameMap, pins: &Pins) -> Result<Notes> {
    let mut notes = Notes {
        pin_warnings: media_types::to_plain_json(doc, pins)?,
        ..Notes::default()
    };
    empty_content::drop_schemaless_content(doc);
    if !shard_keys::accept_any_key_values(doc) {
        notes.idle_steps.push("shard_keys");
    }
    open_enums::open_response_enums(doc);
    constraints::drop_string_constraints(doc);
    description::to_plain_text(doc);
    notes.unmapped_operations = stable_names::apply(doc, names)?;
    Ok(notes)
}
