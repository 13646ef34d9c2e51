//! Secret values: held in [`secrecy`] boxes, zeroized on drop, redacted in `Debug`.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A link token from [`Client::create_link_token`](crate::Client::create_link_token): pasted into
/// Cloud or Ops Manager to link the source organization with Atlas.
///
/// It is a credential: `Debug` prints `LinkToken([REDACTED])` and there is no `Display`.
/// Read it with [`expose_secret`](ExposeSecret::expose_secret).
///
/// ```
/// use atlas_migration::LinkToken;
/// use atlas_migration::secrecy::ExposeSecret;
///
/// let token = LinkToken::from("aGVsbG8=".to_owned());
/// assert_eq!(format!("{token:?}"), "LinkToken([REDACTED])");
/// assert_eq!(token.expose_secret(), "aGVsbG8=");
/// ```
///
/// It deliberately implements neither `Serialize` nor `Deserialize`: a value that stores or
/// logs the models of this crate cannot carry a link token along by accident. To keep one,
/// write [`expose_secret`](ExposeSecret::expose_secret) to a store meant for credentials.
///
/// ```compile_fail
/// fn store<T: serde::Serialize>(_: &T) {}
/// store(&atlas_migration::LinkToken::from("aGVsbG8=".to_owned())); // no Serialize
/// ```
///
/// (The same call compiles for a type that serializes:)
///
/// ```
/// fn store<T: serde::Serialize>(_: &T) {}
/// store(&atlas_migration::MigrationStatus::Working);
/// ```
#[derive(Clone)]
pub struct LinkToken(SecretString);

impl From<String> for LinkToken {
    fn from(value: String) -> Self {
        Self(SecretString::from(value))
    }
}

impl ExposeSecret<str> for LinkToken {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken([REDACTED])")
    }
}
