//! Typed identifiers: 24 lowercase hexadecimal digits, checked before any request is sent.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// Returns whether `value` is exactly 24 lowercase hexadecimal digits.
fn is_object_id(value: &str) -> bool {
    value.len() == 24
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

macro_rules! object_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $example:literal) => {
        $(#[$doc])*
        ///
        /// Parsing checks the format (24 lowercase hexadecimal digits); a malformed value is an
        /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error that names the
        /// field and the value.
        ///
        /// ```
        #[doc = concat!("use atlas_migration::", stringify!($name), ";")]
        ///
        #[doc = concat!("let id: ", stringify!($name), " = \"", $example, "\".parse()?;")]
        #[doc = concat!("assert_eq!(id.as_str(), \"", $example, "\");")]
        #[doc = concat!("assert!(\"not-an-id\".parse::<", stringify!($name), ">().is_err());")]
        /// # Ok::<(), atlas_migration::Error>(())
        /// ```
        ///
        /// It serializes as its string; deserializing checks the format just as parsing does,
        /// so a stored value cannot smuggle in a malformed id.
        ///
        /// ```
        #[doc = concat!("use atlas_migration::", stringify!($name), ";")]
        ///
        #[doc = concat!("let id: ", stringify!($name), " = serde_json::from_str(\"\\\"", $example, "\\\"\").unwrap();")]
        #[doc = concat!("assert_eq!(serde_json::to_string(&id).unwrap(), \"\\\"", $example, "\\\"\");")]
        #[doc = concat!("assert!(serde_json::from_str::<", stringify!($name), ">(\"\\\"not-an-id\\\"\").is_err());")]
        /// ```
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The name of the API field this id fills, used in error messages.
            pub const FIELD: &'static str = $field;

            /// Checks and wraps `value`.
            ///
            /// ```
            #[doc = concat!("let id = atlas_migration::", stringify!($name), "::new(\"", $example, "\")?;")]
            #[doc = concat!("assert_eq!(id.to_string(), \"", $example, "\");")]
            /// # Ok::<(), atlas_migration::Error>(())
            /// ```
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                if is_object_id(&value) {
                    Ok(Self(value))
                } else {
                    Err(Error::invalid_input(
                        $field,
                        Some(&value),
                        "must be 24 lowercase hexadecimal digits",
                    ))
                }
            }

            /// The id as a string slice.
            ///
            /// ```
            #[doc = concat!("let id: atlas_migration::", stringify!($name), " = \"", $example, "\".parse()?;")]
            #[doc = concat!("assert_eq!(id.as_str().len(), 24);")]
            /// # Ok::<(), atlas_migration::Error>(())
            /// ```
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::new(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

object_id!(
    /// Identifies an Atlas organization (`orgId`).
    OrgId,
    "orgId",
    "4888442a3354817a7320eb61"
);
object_id!(
    /// Identifies an Atlas project (`groupId`; Atlas uses "group" and "project" as synonyms).
    GroupId,
    "groupId",
    "32b6e34b3d91647abb20e7b8"
);
object_id!(
    /// Identifies one live migration (`liveMigrationId`).
    LiveMigrationId,
    "liveMigrationId",
    "6296fb4c7c7aa997cf94e9a8"
);
object_id!(
    /// Identifies one validation job (`validationId`).
    ValidationId,
    "validationId",
    "507f1f77bcf86cd799439011"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_24_lowercase_hex_digits() {
        let id: GroupId = "32b6e34b3d91647abb20e7b8".parse().unwrap();
        assert_eq!(id.as_ref(), "32b6e34b3d91647abb20e7b8");
        assert_eq!(format!("{id:?}"), "GroupId(32b6e34b3d91647abb20e7b8)");
    }

    #[test]
    fn rejects_malformed_ids_naming_field_and_value() {
        for bad in [
            "",
            "32B6E34B3D91647ABB20E7B8",
            "32b6e34b3d91647abb20e7b",
            "32b6e34b3d91647abb20e7b8a",
            "zzb6e34b3d91647abb20e7b8",
            "../b6e34b3d91647abb20e7b8",
        ] {
            let err = bad.parse::<LiveMigrationId>().unwrap_err();
            assert!(err.is_invalid_input(), "{bad}");
            let text = err.to_string();
            assert!(text.contains("liveMigrationId"), "{text}");
            assert!(text.contains(&format!("{bad:?}")), "{text}");
        }
    }

    #[test]
    fn serde_round_trip_checks_format() {
        let id: OrgId = serde_json::from_str("\"4888442a3354817a7320eb61\"").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"4888442a3354817a7320eb61\""
        );
        assert!(serde_json::from_str::<OrgId>("\"nope\"").is_err());
    }

    #[test]
    fn every_id_round_trips_and_refuses_malformed_values() {
        fn check<T>(good: &str)
        where
            T: Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
        {
            let json = format!("{good:?}");
            let id: T = serde_json::from_str(&json).unwrap();
            assert_eq!(serde_json::to_string(&id).unwrap(), json);
            for bad in [
                "\"\"",
                "\"32B6E34B3D91647ABB20E7B8\"",
                "\"32b6e34b3d91647abb20e7b\"",
                "\" 32b6e34b3d91647abb20e7b8\"",
                "\"../b6e34b3d91647abb20e7b8\"",
                "null",
                "42",
                "[\"32b6e34b3d91647abb20e7b8\"]",
            ] {
                assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
            }
        }
        check::<OrgId>("4888442a3354817a7320eb61");
        check::<GroupId>("32b6e34b3d91647abb20e7b8");
        check::<LiveMigrationId>("6296fb4c7c7aa997cf94e9a8");
        check::<ValidationId>("507f1f77bcf86cd799439011");
    }
}
