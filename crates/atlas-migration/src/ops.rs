//! The eight operations of the Cloud Migration Service as [`Client`] methods.
//!
//! Each method checks its inputs, calls the generated client inside the executor's error slot
//! (see [`crate::executor`]) and converts the generated reply into this crate's own types, so
//! that renamed generated types never reach callers.

use std::future::Future;

use atlas_migration_sys::types;
use progenitor_client::{Error as SysError, ResponseValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::{ApiError, DecodeError, Error};
use crate::executor::{capture, read_capped};
use crate::ids::{GroupId, LiveMigrationId, OrgId, ValidationId};
use crate::model::{AvailableProject, LiveMigration, Validation};
use crate::request::MigrationRequest;
use crate::secret::LinkToken;

/// Whether an operation's reply carries a secret, so no part of it may be quoted in errors.
fn reply_is_secret(operation: &str) -> bool {
    operation == "create_link_token"
}

/// Runs one generated call and returns its decoded reply. A success status other than the
/// documented one (e.g. 200 instead of 201) is decoded the same way.
pub(crate) async fn call<T: DeserializeOwned, E>(
    operation: &'static str,
    send: impl Future<Output = Result<ResponseValue<T>, SysError<E>>>,
) -> Result<T, Error> {
    let (out, stashed) = capture(send).await;
    if let Some(error) = stashed {
        return Err(error);
    }
    match out {
        Ok(reply) => Ok(reply.into_inner()),
        Err(SysError::UnexpectedResponse(r)) if r.status().is_success() => {
            let status = r.status().as_u16();
            let body = r.bytes().await.map_err(Error::Transport)?;
            serde_json::from_slice(&body)
                .map_err(|e| from_payload_error(operation, Some(status), &body, e))
        }
        Err(e) => Err(from_sys(operation, e).await),
    }
}

fn from_payload_error(
    operation: &'static str,
    status: Option<u16>,
    body: &[u8],
    e: serde_json::Error,
) -> Error {
    let secret = reply_is_secret(operation);
    let message = if secret {
        format!(
            "the reply is not the expected JSON ({:?} error)",
            e.classify()
        )
    } else {
        e.to_string()
    };
    Error::Decode(DecodeError::new(
        operation,
        status,
        message,
        (!secret).then_some(body),
    ))
}

/// Runs one generated call whose success carries no body; any 2xx is success.
pub(crate) async fn call_empty<E>(
    operation: &'static str,
    send: impl Future<Output = Result<ResponseValue<()>, SysError<E>>>,
) -> Result<(), Error> {
    let (out, stashed) = capture(send).await;
    if let Some(error) = stashed {
        return Err(error);
    }
    match out {
        Ok(_) => Ok(()),
        Err(SysError::UnexpectedResponse(r)) if r.status().is_success() => Ok(()),
        Err(e) => Err(from_sys(operation, e).await),
    }
}

/// Maps what the generated client reports when the executor stashed nothing.
async fn from_sys<E>(operation: &'static str, error: SysError<E>) -> Error {
    let secret = reply_is_secret(operation);
    match error {
        SysError::InvalidRequest(why) => Error::invalid_input("request", None, why),
        SysError::CommunicationError(e)
        | SysError::InvalidUpgrade(e)
        | SysError::ResponseBodyError(e) => Error::Transport(e),
        SysError::ErrorResponse(reply) => Error::Api(ApiError::from_reply(
            reply.status().as_u16(),
            reply.headers(),
            b"",
        )),
        SysError::InvalidResponsePayload(body, e) => {
            let message = if secret {
                format!(
                    "the reply is not the expected JSON ({:?} error)",
                    e.classify()
                )
            } else {
                e.to_string()
            };
            Error::Decode(DecodeError::new(
                operation,
                None,
                message,
                (!secret).then_some(&body[..]),
            ))
        }
        SysError::UnexpectedResponse(reply) => {
            let status = reply.status();
            let headers = reply.headers().clone();
            let body = read_capped(reply).await;
            if status.is_success() {
                Error::Decode(DecodeError::new(
                    operation,
                    Some(status.as_u16()),
                    "unexpected success status",
                    (!secret).then_some(&body[..]),
                ))
            } else {
                Error::Api(ApiError::from_reply(status.as_u16(), &headers, &body))
            }
        }
        SysError::Custom(why) => Error::Decode(DecodeError::new(operation, None, why, None)),
    }
}

/// Re-reads a generated value as one of this crate's types.
pub(crate) fn own<T: Serialize, U: DeserializeOwned>(
    operation: &'static str,
    value: &T,
) -> Result<U, Error> {
    let decode = |e: serde_json::Error| {
        let message = if reply_is_secret(operation) {
            format!("unexpected reply shape ({:?} error)", e.classify())
        } else {
            e.to_string()
        };
        Error::Decode(DecodeError::new(operation, None, message, None))
    };
    let json = serde_json::to_value(value).map_err(decode)?;
    serde_json::from_value(json).map_err(decode)
}

/// What `create_link_token` keeps of its reply.
#[derive(serde::Deserialize)]
pub(crate) struct LinkTokenReply {
    #[serde(rename = "linkToken")]
    pub(crate) link_token: String,
}

/// Fills a generated request type from this crate's JSON.
/// Whether `entry` is an IP address or a CIDR block (`address/prefix`, prefix within the
/// address family's length).
fn is_ip_or_cidr(entry: &str) -> bool {
    let (address, prefix) = match entry.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (entry, None),
    };
    let Ok(address) = address.parse::<std::net::IpAddr>() else {
        return false;
    };
    let bits = if address.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|p| p <= bits))
}

/// `request` as the generated client's body type (validate and create share it).
fn migration_body(
    request: &MigrationRequest,
) -> Result<types::LiveMigrationRequest20240530, Error> {
    wire("request", request.to_json())
}

fn wire<T: DeserializeOwned>(field: &str, json: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(json).map_err(|e| {
        // The JSON may hold a password: report only the error class and position.
        Error::invalid_input(
            field,
            None,
            format!(
                "could not be encoded for this API version ({:?} error at column {})",
                e.classify(),
                e.column()
            ),
        )
    })
}

impl Client {
    /// Creates a link token for organization `org` (`createLinkToken`). Paste the token into
    /// Cloud/Ops Manager to link the source organization. `access_list_ips` restricts the
    /// addresses the link may be used from (may be empty).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// use atlas_migration::ExposeSecret;
    ///
    /// let org = "4888442a3354817a7320eb61".parse()?;
    /// let token = client.create_link_token(&org, ["203.0.113.7"]).await?;
    /// let for_ops_manager: &str = token.expose_secret();
    /// # Ok(()) }
    /// ```
    pub async fn create_link_token<I, S>(
        &self,
        org: &OrgId,
        access_list_ips: I,
    ) -> Result<LinkToken, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        const OP: &str = "create_link_token";
        let ips: Vec<String> = access_list_ips.into_iter().map(Into::into).collect();
        if let Some(bad) = ips.iter().find(|ip| !is_ip_or_cidr(ip)) {
            return Err(Error::invalid_input(
                "accessListIps",
                Some(bad),
                "entries must be IPv4 or IPv6 addresses or CIDR blocks, e.g. 203.0.113.7 or 203.0.113.0/24",
            ));
        }
        let body: types::TargetOrgRequest =
            wire("accessListIps", serde_json::json!({ "accessListIps": ips }))?;
        let sys = &self.inner.sys;
        let reply = call(
            OP,
            sys.create_link_token()
                .org_id(org.as_str())
                .body(body)
                .send(),
        )
        .await?;
        let reply: LinkTokenReply = own(OP, &reply)?;
        Ok(LinkToken::from(reply.link_token))
    }

    /// Removes the organization's link tokens (`deleteLinkToken`), unlinking Cloud/Ops Manager.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let org = "4888442a3354817a7320eb61".parse()?;
    /// client.delete_link_tokens(&org).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_link_tokens(&self, org: &OrgId) -> Result<(), Error> {
        let sys = &self.inner.sys;
        call_empty(
            "delete_link_tokens",
            sys.delete_link_tokens().org_id(org.as_str()).send(),
        )
        .await
    }

    /// Lists the Cloud/Ops Manager projects that can be migrated into organization `org`
    /// (`listSourceProjects`).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let org = "4888442a3354817a7320eb61".parse()?;
    /// for project in client.list_source_projects(&org).await? {
    ///     println!("{}: {:?}", project.name, project.deployments.iter().map(|d| &d.name).collect::<Vec<_>>());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_source_projects(&self, org: &OrgId) -> Result<Vec<AvailableProject>, Error> {
        const OP: &str = "list_source_projects";
        let sys = &self.inner.sys;
        let reply = call(OP, sys.list_source_projects().org_id(org.as_str()).send()).await?;
        own(OP, &reply)
    }

    /// Starts validating `request` for a migration into project `group` (`validateMigration`).
    /// Poll the result with [`get_validation`](Self::get_validation).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, request: atlas_migration::MigrationRequest) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let validation = client.validate_migration(&group, &request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn validate_migration(
        &self,
        group: &GroupId,
        request: &MigrationRequest,
    ) -> Result<Validation, Error> {
        const OP: &str = "validate_migration";
        let body = migration_body(request)?;
        let sys = &self.inner.sys;
        let reply = call(
            OP,
            sys.validate_migration()
                .group_id(group.as_str())
                .body(body)
                .send(),
        )
        .await?;
        own(OP, &reply)
    }

    /// Reads a validation job (`getValidationStatus`).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let id = "507f1f77bcf86cd799439011".parse()?;
    /// let validation = client.get_validation(&group, &id).await?;
    /// if validation.is_terminal() { println!("{:?}", validation.status); }
    /// # Ok(()) }
    /// ```
    pub async fn get_validation(
        &self,
        group: &GroupId,
        validation: &ValidationId,
    ) -> Result<Validation, Error> {
        const OP: &str = "get_validation_status";
        let sys = &self.inner.sys;
        let reply = call(
            OP,
            sys.get_validation_status()
                .group_id(group.as_str())
                .validation_id(validation.as_str())
                .send(),
        )
        .await?;
        own(OP, &reply)
    }

    /// Starts migrating per `request` into project `group` (`createPushMigration`). Validate
    /// first. Not retried on server errors: after a 5xx, check with
    /// [`get_migration`](Self::get_migration) before trying again.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, request: atlas_migration::MigrationRequest) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let migration = client.create_migration(&group, &request).await?;
    /// println!("{:?} is {}", migration.id, migration.status);
    /// # Ok(()) }
    /// ```
    pub async fn create_migration(
        &self,
        group: &GroupId,
        request: &MigrationRequest,
    ) -> Result<LiveMigration, Error> {
        const OP: &str = "create_push_migration";
        let body = migration_body(request)?;
        let sys = &self.inner.sys;
        let reply = call(
            OP,
            sys.create_push_migration()
                .group_id(group.as_str())
                .body(body)
                .send(),
        )
        .await?;
        own(OP, &reply)
    }

    /// Reads a live migration (`getPushMigration`).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let id = "507f1f77bcf86cd799439011".parse()?;
    /// let migration = client.get_migration(&group, &id).await?;
    /// if migration.ready_for_cutover { client.cutover(&group, &id).await?; }
    /// # Ok(()) }
    /// ```
    pub async fn get_migration(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Result<LiveMigration, Error> {
        const OP: &str = "get_push_migration";
        let sys = &self.inner.sys;
        let reply = call(
            OP,
            sys.get_push_migration()
                .group_id(group.as_str())
                .live_migration_id(migration.as_str())
                .send(),
        )
        .await?;
        own(OP, &reply)
    }

    /// Starts the cutover of a migration that is ready for it (`cutoverMigration`).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let id = "507f1f77bcf86cd799439011".parse()?;
    /// client.cutover(&group, &id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cutover(&self, group: &GroupId, migration: &LiveMigrationId) -> Result<(), Error> {
        let sys = &self.inner.sys;
        call_empty(
            "cutover_migration",
            sys.cutover_migration()
                .group_id(group.as_str())
                .live_migration_id(migration.as_str())
                .send(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::is_ip_or_cidr;

    #[test]
    fn access_list_entries_are_addresses_or_cidr_blocks() {
        for good in [
            "203.0.113.7",
            "203.0.113.0/24",
            "0.0.0.0/0",
            "2001:db8::1",
            "2001:db8::/32",
        ] {
            assert!(is_ip_or_cidr(good), "{good}");
        }
        for bad in [
            "",
            "not an ip",
            "203.0.113.7/33",
            "2001:db8::/129",
            "203.0.113",
            "1.2.3.4/",
            " 1.2.3.4",
        ] {
            assert!(!is_ip_or_cidr(bad), "{bad:?}");
        }
    }
}
