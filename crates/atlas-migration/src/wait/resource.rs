//! [`PolledResource`]: what a [`Waiter`](super::Waiter) can poll. Each resource names its own id
//! type and how to fetch it, so a waiter is typed by what it waits on and cannot be given the
//! wrong kind of id.

use std::fmt;
use std::future::Future;

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId, ValidationId};
use crate::model::{LiveMigration, Validation};

/// A resource a [`Waiter`](super::Waiter) polls: [`Validation`] or [`LiveMigration`].
///
/// Sealed: the waiters of this crate are the only ones. It lets code handle any waiter
/// generically.
///
/// ```no_run
/// use atlas_migration::wait::{PolledResource, Waiter, WaiterError};
///
/// async fn patiently<T: PolledResource>(waiter: Waiter<T>) -> Result<T, WaiterError<T>> {
///     waiter.max_wait(std::time::Duration::from_secs(24 * 3600)).await
/// }
/// ```
pub trait PolledResource: sealed::Fetch {}

impl PolledResource for Validation {}
impl PolledResource for LiveMigration {}

pub(crate) mod sealed {
    use super::*;

    /// How a polled resource is identified and fetched.
    pub trait Fetch: Sized + Send + 'static {
        /// The id naming one such resource.
        type Id: Clone + fmt::Debug + Send + Sync + 'static;

        /// The id as sent in URLs and logs.
        fn id_str(id: &Self::Id) -> &str;

        /// One `GET` of the resource.
        fn fetch<'a>(
            client: &'a Client,
            group: &'a GroupId,
            id: &'a Self::Id,
        ) -> impl Future<Output = Result<Self, Error>> + Send + 'a;
    }

    impl Fetch for Validation {
        type Id = ValidationId;

        fn id_str(id: &ValidationId) -> &str {
            id.as_str()
        }

        fn fetch<'a>(
            client: &'a Client,
            group: &'a GroupId,
            id: &'a ValidationId,
        ) -> impl Future<Output = Result<Self, Error>> + Send + 'a {
            client.get_validation(group, id)
        }
    }

    impl Fetch for LiveMigration {
        type Id = LiveMigrationId;

        fn id_str(id: &LiveMigrationId) -> &str {
            id.as_str()
        }

        fn fetch<'a>(
            client: &'a Client,
            group: &'a GroupId,
            id: &'a LiveMigrationId,
        ) -> impl Future<Output = Result<Self, Error>> + Send + 'a {
            client.get_migration(group, id)
        }
    }
}
