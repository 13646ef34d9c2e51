//! Server-owned states as open enums: an unknown value decodes as `Unknown` instead of failing.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Logs an unknown status value once per process, so a new server state is noticed but
/// does not flood the log of a polling loop.
fn note_unknown(kind: &'static str, value: &str) {
    static SEEN: OnceLock<Mutex<HashSet<(&'static str, String)>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    if seen.len() < 64 && seen.insert((kind, value.to_owned())) {
        tracing::warn!(kind, value, "Atlas sent a status this client does not know");
    }
}

macro_rules! open_enum {
    (
        $(#[$doc:meta])*
        $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }
    ) => {
        $(#[$doc])*
        ///
        /// It serializes as Atlas spells it; any string deserializes, and a value this client
        /// does not know is kept as `Unknown` and serialized back verbatim.
        ///
        /// ```
        #[doc = concat!("use atlas_migration::", stringify!($name), ";")]
        ///
        #[doc = concat!("let s: ", stringify!($name), " = serde_json::from_str(\"\\\"PAUSED\\\"\").unwrap();")]
        #[doc = concat!("assert_eq!(s, ", stringify!($name), "::Unknown(\"PAUSED\".into()));")]
        /// assert_eq!(serde_json::to_string(&s).unwrap(), "\"PAUSED\"");
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this version of the client does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The value as Atlas spells it.
            ///
            /// ```
            #[doc = concat!("use atlas_migration::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::from_wire(\"FAILED\").as_str(), \"FAILED\");")]
            /// ```
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Unknown(other) => other,
                }
            }

            /// Decodes Atlas's spelling; never fails.
            ///
            /// ```
            #[doc = concat!("use atlas_migration::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::from_wire(\"PAUSED\"), ", stringify!($name), "::Unknown(\"PAUSED\".into()));")]
            /// ```
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => $name::$variant,)+
                    other => {
                        note_unknown(stringify!($name), other);
                        $name::Unknown(other.to_owned())
                    }
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Ok(Self::from_wire(&value))
            }
        }
    };
}

open_enum! {
    /// The state of a validation job.
    ///
    /// ```
    /// use atlas_migration::ValidationStatus;
    ///
    /// assert!(ValidationStatus::Success.is_terminal());
    /// assert!(!ValidationStatus::Pending.is_terminal());
    /// ```
    ValidationStatus {
        /// Atlas is still checking the source and destination.
        Pending => "PENDING",
        /// The migration can be created.
        Success => "SUCCESS",
        /// The checks failed; see the validation's error message.
        Failed => "FAILED",
    }
}

impl ValidationStatus {
    /// Whether the validation has finished (success or failure). Unknown states are not
    /// terminal: a poller keeps polling until a deadline.
    ///
    /// ```
    /// assert!(atlas_migration::ValidationStatus::Failed.is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Success | Self::Failed)
    }

    /// Whether the validation passed.
    ///
    /// ```
    /// assert!(atlas_migration::ValidationStatus::Success.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }

    /// Whether the validation failed.
    ///
    /// ```
    /// assert!(atlas_migration::ValidationStatus::Failed.is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed)
    }
}

open_enum! {
    /// The state of a live migration.
    ///
    /// ```
    /// use atlas_migration::MigrationStatus;
    ///
    /// assert!(MigrationStatus::Complete.is_terminal());
    /// assert!(MigrationStatus::Working.is_in_progress());
    /// assert!(!MigrationStatus::from_wire("PAUSED").is_terminal());
    /// ```
    MigrationStatus {
        /// Created, not started yet.
        New => "NEW",
        /// Copying and syncing data; cutover becomes possible once ready.
        Working => "WORKING",
        /// The migration failed.
        Failed => "FAILED",
        /// Cutover finished; the destination is live.
        Complete => "COMPLETE",
        /// The migration expired before cutover.
        Expired => "EXPIRED",
    }
}

impl MigrationStatus {
    /// Whether the migration can no longer change state (complete, failed or expired).
    ///
    /// ```
    /// assert!(atlas_migration::MigrationStatus::Expired.is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Failed | Self::Complete | Self::Expired)
    }

    /// Whether the migration ended without completing (failed or expired).
    ///
    /// ```
    /// assert!(atlas_migration::MigrationStatus::Failed.is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed | Self::Expired)
    }

    /// Whether the migration completed.
    ///
    /// ```
    /// assert!(atlas_migration::MigrationStatus::Complete.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Complete)
    }

    /// Whether the migration is new or working.
    ///
    /// ```
    /// assert!(atlas_migration::MigrationStatus::New.is_in_progress());
    /// ```
    pub fn is_in_progress(&self) -> bool {
        matches!(self, Self::New | Self::Working)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_decode_and_round_trip() {
        let s: MigrationStatus = serde_json::from_str("\"PAUSED\"").unwrap();
        assert_eq!(s, MigrationStatus::Unknown("PAUSED".into()));
        assert!(!s.is_terminal() && !s.is_in_progress());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"PAUSED\"");
        let v: ValidationStatus = serde_json::from_str("\"SUCCESS\"").unwrap();
        assert!(v.is_terminal() && v.is_success());
    }

    #[test]
    fn every_state_round_trips_and_non_strings_are_refused() {
        for wire in [
            "NEW", "WORKING", "FAILED", "COMPLETE", "EXPIRED", "", "paused", "é\u{0}",
        ] {
            let json = serde_json::to_string(wire).unwrap();
            let s: MigrationStatus = serde_json::from_str(&json).unwrap();
            assert_eq!(s.as_str(), wire);
            assert_eq!(serde_json::to_string(&s).unwrap(), json);
        }
        for wire in ["PENDING", "SUCCESS", "FAILED", "QUEUED"] {
            let json = serde_json::to_string(wire).unwrap();
            let s: ValidationStatus = serde_json::from_str(&json).unwrap();
            assert_eq!(serde_json::to_string(&s).unwrap(), json);
        }
        // Known spellings win over a lookalike: case matters, as on the wire.
        assert_eq!(
            serde_json::from_str::<MigrationStatus>("\"working\"").unwrap(),
            MigrationStatus::Unknown("working".into())
        );
        for bad in ["1", "null", "[\"NEW\"]", "{\"status\":\"NEW\"}"] {
            assert!(
                serde_json::from_str::<MigrationStatus>(bad).is_err(),
                "{bad}"
            );
            assert!(
                serde_json::from_str::<ValidationStatus>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn terminal_states_are_exactly_the_final_ones() {
        let terminal: Vec<_> = ["NEW", "WORKING", "FAILED", "COMPLETE", "EXPIRED"]
            .into_iter()
            .filter(|w| MigrationStatus::from_wire(w).is_terminal())
            .collect();
        assert_eq!(terminal, ["FAILED", "COMPLETE", "EXPIRED"]);
    }
}
