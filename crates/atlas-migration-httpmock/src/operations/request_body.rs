//! The body validate and create send for a `MigrationRequest`, for the `request` matchers.
//!
//! Built from the request's public, stable serialized form (which never holds the source
//! password) in the shape of Atlas's `LiveMigrationRequest20240530`; the stubs' tests check it
//! against what the client actually sends. A request's source password cannot be read back,
//! so the match compares everything but `source.password`.

use atlas_migration::MigrationRequest;
use serde_json::{Map, Value, json};

/// A matcher for the body `request` is sent as, the source password aside.
pub(super) fn matcher(
    request: &MigrationRequest,
) -> impl Fn(&httpmock::HttpMockRequest) -> bool + Send + Sync + 'static {
    let expected = wire_body(request);
    move |sent| {
        serde_json::from_slice::<Value>(sent.body_ref())
            .map(|mut body| {
                if let Some(source) = body.get_mut("source").and_then(Value::as_object_mut) {
                    source.remove("password");
                }
                body == expected
            })
            .unwrap_or(false)
    }
}

/// The wire body of `request` without `source.password`.
fn wire_body(request: &MigrationRequest) -> Value {
    let stored = serde_json::to_value(request).expect("a migration request serializes");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();

    let s = &stored["source"];
    let auth = &s["authentication"];
    let mut source = Map::new();
    if let Some(path) = s.get("caCertificatePath") {
        source.insert("caCertificatePath".into(), path.clone());
    }
    source.insert("clusterName".into(), s["clusterName"].clone());
    source.insert("groupId".into(), s["project"].clone());
    source.insert(
        "managedAuthentication".into(),
        json!(auth["kind"] == "managed"),
    );
    source.insert("ssl".into(), s["tls"].clone());
    if let Some(username) = auth.get("username") {
        source.insert("username".into(), username.clone());
    }

    let d = &stored["destination"];
    let mut destination = Map::new();
    destination.insert("clusterName".into(), d["clusterName"].clone());
    destination.insert("groupId".into(), d["project"].clone());
    destination.insert("hostnameSchemaType".into(), d["hostnameSchema"].clone());
    if let Some(id) = d.get("privateLinkId") {
        destination.insert("privateLinkId".into(), id.clone());
    }

    let mut body = Map::new();
    body.insert("destination".into(), Value::Object(destination));
    body.insert(
        "dropDestinationData".into(),
        stored["dropDestinationData"].clone(),
    );
    body.insert("migrationHosts".into(), json!([stored["migrationHost"]]));
    body.insert("source".into(), Value::Object(source));
    if let Some(sharding) = stored.get("sharding") {
        let entries: Vec<Value> = sharding["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                // Stored as `[field, "ascending" | "hashed"]`; sent as `{field: 1 | "hashed"}`.
                let key: Vec<Value> = entry["keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|pair| {
                        let kind = if pair[1] == "hashed" {
                            json!("hashed")
                        } else {
                            json!(1)
                        };
                        let mut one = Map::new();
                        one.insert(text(&pair[0]), kind);
                        Value::Object(one)
                    })
                    .collect();
                json!({
                    "collection": entry["collection"],
                    "database": entry["database"],
                    "shardCollection": { "key": key },
                })
            })
            .collect();
        body.insert(
            "sharding".into(),
            json!({
                "createSupportingIndexes": sharding["createSupportingIndexes"],
                "shardingEntries": entries,
            }),
        );
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use atlas_migration::{
        Destination, HostnameSchema, MigrationRequest, ShardEntry, ShardKeyKind, Sharding, Source,
    };
    use serde_json::json;

    #[test]
    fn the_wire_body_has_atlas_names_and_no_password() {
        let request = MigrationRequest::builder()
            .source(
                Source::new("legacy", "5f1e2d3c4b5a69788796a5b4".parse().unwrap())
                    .credentials("admin", "secret".to_owned())
                    .tls(true)
                    .ca_certificate_path("/etc/ca.pem"),
            )
            .destination(
                Destination::new("target", "32b6e34b3d91647abb20e7b8".parse().unwrap())
                    .hostname_schema(HostnameSchema::PrivateLink)
                    .private_link_id("pl-1"),
            )
            .migration_host("mirror-1")
            .sharding(
                Sharding::new(false).entry(
                    ShardEntry::new("db", "c")
                        .key("a", ShardKeyKind::Ascending)
                        .key("b", ShardKeyKind::Hashed),
                ),
            )
            .build()
            .unwrap();
        assert_eq!(
            super::wire_body(&request),
            json!({
                "source": {"caCertificatePath": "/etc/ca.pem", "clusterName": "legacy",
                    "groupId": "5f1e2d3c4b5a69788796a5b4", "managedAuthentication": false,
                    "ssl": true, "username": "admin"},
                "destination": {"clusterName": "target", "groupId": "32b6e34b3d91647abb20e7b8",
                    "hostnameSchemaType": "PRIVATE_LINK", "privateLinkId": "pl-1"},
                "migrationHosts": ["mirror-1"],
                "dropDestinationData": false,
                "sharding": {"createSupportingIndexes": false, "shardingEntries": [
                    {"database": "db", "collection": "c",
                     "shardCollection": {"key": [{"a": 1}, {"b": "hashed"}]}}]}
            })
        );
    }
}
