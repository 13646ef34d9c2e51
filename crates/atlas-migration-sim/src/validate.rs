//! Validation of request bodies against the spec's schemas, with Atlas field violations.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::errors::{ApiError, FieldViolation};
use crate::rng::is_object_id;

/// The parts of a `LiveMigrationRequest` the simulator keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MigrationRequest {
    pub(crate) source_group_id: String,
    pub(crate) source_cluster: String,
    pub(crate) destination_group_id: String,
    pub(crate) destination_cluster: String,
    pub(crate) migration_hosts: Vec<String>,
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            "Request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            format!("Received JSON is malformed: {e}."),
        )),
    }
}

/// Collects violations while walking a JSON object.
struct Checker {
    violations: Vec<FieldViolation>,
}

impl Checker {
    fn fail(&mut self, field: &str, description: &str) {
        self.violations
            .push(FieldViolation::new(field, description));
    }

    fn string(
        &mut self,
        obj: &Map<String, Value>,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        let field = format!("{prefix}{key}");
        match obj.get(key) {
            None | Some(Value::Null) if required => {
                self.fail(&field, "is required");
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if required && s.is_empty() => {
                self.fail(&field, "must not be empty");
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.fail(&field, "must be a string");
                None
            }
        }
    }

    fn object_id(&mut self, obj: &Map<String, Value>, prefix: &str, key: &str) -> Option<String> {
        let value = self.string(obj, prefix, key, true)?;
        if is_object_id(&value) {
            Some(value)
        } else {
            self.fail(
                &format!("{prefix}{key}"),
                "must be a 24-character hexadecimal id",
            );
            None
        }
    }

    fn boolean(&mut self, obj: &Map<String, Value>, prefix: &str, key: &str, required: bool) {
        let field = format!("{prefix}{key}");
        match obj.get(key) {
            None | Some(Value::Null) if required => self.fail(&field, "is required"),
            None | Some(Value::Null) | Some(Value::Bool(_)) => {}
            Some(_) => self.fail(&field, "must be a boolean"),
        }
    }

    fn object<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        field: &str,
        key: &str,
        required: bool,
    ) -> Option<&'a Map<String, Value>> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(Value::Object(o)) => Some(o),
            Some(_) => {
                self.fail(field, "must be an object");
                None
            }
        }
    }
}

/// Validates a `LiveMigrationRequest20240530` body.
pub(crate) fn migration_request(body: &[u8]) -> Result<MigrationRequest, ApiError> {
    let root = parse_object(body)?;
    let mut c = Checker {
        violations: Vec::new(),
    };
    let mut out = MigrationRequest {
        source_group_id: String::new(),
        source_cluster: String::new(),
        destination_group_id: String::new(),
        destination_cluster: String::new(),
        migration_hosts: Vec::new(),
    };
    if let Some(src) = c.object(&root, "source", "source", true) {
        out.source_cluster = c
            .string(src, "source.", "clusterName", true)
            .unwrap_or_default();
        out.source_group_id = c.object_id(src, "source.", "groupId").unwrap_or_default();
        c.boolean(src, "source.", "managedAuthentication", true);
        c.boolean(src, "source.", "ssl", true);
        for key in ["caCertificatePath", "username", "password"] {
            c.string(src, "source.", key, false);
        }
    }
    if let Some(dst) = c.object(&root, "destination", "destination", true) {
        out.destination_cluster = c
            .string(dst, "destination.", "clusterName", true)
            .unwrap_or_default();
        out.destination_group_id = c
            .object_id(dst, "destination.", "groupId")
            .unwrap_or_default();
        let kind = c.string(dst, "destination.", "hostnameSchemaType", true);
        if kind.is_some_and(|k| !["PUBLIC", "PRIVATE_LINK", "VPC_PEERING"].contains(&k.as_str())) {
            c.fail(
                "destination.hostnameSchemaType",
                "must be one of PUBLIC, PRIVATE_LINK, VPC_PEERING",
            );
        }
        c.string(dst, "destination.", "privateLinkId", false);
    }
    match root.get("migrationHosts") {
        None | Some(Value::Null) => {}
        Some(Value::Array(hosts)) => {
            let strings: Vec<String> = hosts
                .iter()
                .filter_map(|h| h.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .collect();
            if hosts.len() != 1 || strings.len() != 1 {
                c.fail("migrationHosts", "must contain exactly one host name");
            }
            out.migration_hosts = strings;
        }
        Some(_) => c.fail("migrationHosts", "must be an array of host names"),
    }
    c.boolean(&root, "", "dropDestinationData", false);
    if let Some(sharding) = c.object(&root, "sharding", "sharding", false) {
        check_sharding(&mut c, sharding);
    }
    if c.violations.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid_fields(c.violations))
    }
}

fn check_sharding(c: &mut Checker, sharding: &Map<String, Value>) {
    c.boolean(sharding, "sharding.", "createSupportingIndexes", true);
    let entries = match sharding.get("shardingEntries") {
        None | Some(Value::Null) => return,
        Some(Value::Array(a)) => a,
        Some(_) => return c.fail("sharding.shardingEntries", "must be an array"),
    };
    for (i, entry) in entries.iter().enumerate() {
        let prefix = format!("sharding.shardingEntries[{i}].");
        let Some(entry) = entry.as_object() else {
            c.fail(
                &format!("sharding.shardingEntries[{i}]"),
                "must be an object",
            );
            continue;
        };
        c.string(entry, &prefix, "collection", true);
        c.string(entry, &prefix, "database", true);
        let field = format!("{prefix}shardCollection");
        let Some(keys) = c.object(entry, &field, "shardCollection", true) else {
            continue;
        };
        let Some(Value::Array(keys)) = keys.get("key") else {
            c.fail(&format!("{field}.key"), "must be an array of key documents");
            continue;
        };
        for (j, key) in keys.iter().enumerate() {
            let ok = key.as_object().is_some_and(|k| {
                k.len() == 1
                    && k.values().all(|v| {
                        v.as_i64().is_some_and(|n| n == 1 || n == -1)
                            || v.as_str() == Some("hashed")
                    })
            });
            if !ok {
                c.fail(
                    &format!("{field}.key[{j}]"),
                    "must be a single-field document with value 1, -1 or \"hashed\"",
                );
            }
        }
    }
}

/// Validates a `TargetOrgRequest` body; returns the access list.
pub(crate) fn link_token_request(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let root = parse_object(body)?;
    match root.get("accessListIps") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(ips)) if ips.iter().all(Value::is_string) => Ok(ips
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()),
        Some(_) => Err(ApiError::invalid_fields(vec![FieldViolation::new(
            "accessListIps",
            "must be an array of IP addresses",
        )])),
    }
}
