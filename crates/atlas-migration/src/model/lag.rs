//! The `lagTimeSeconds` field: a duration carried as whole seconds, as Atlas sends it.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Reads whole seconds; a negative value (nonsense from a server) reads as no lag.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let seconds = Option::<i64>::deserialize(d)?;
    Ok(seconds.map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0))))
}

/// Writes whole seconds (a fraction is dropped), at most `i64::MAX` so it always reads back.
pub(super) fn serialize<S: Serializer>(lag: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match lag {
        Some(lag) => s.serialize_some(&lag.as_secs().min(i64::MAX as u64)),
        None => s.serialize_none(),
    }
}
