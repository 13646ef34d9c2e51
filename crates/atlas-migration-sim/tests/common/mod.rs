//! Test helpers: a tiny digest client built by hand on plain reqwest.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use atlas_migration_sim::{DigestAlgorithm, Simulator, digest_response};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Mutex;

pub const V2023: &str = "application/vnd.atlas.2023-01-01+json";
pub const V2024: &str = "application/vnd.atlas.2024-05-30+json";

/// Extracts a parameter value from a `WWW-Authenticate` digest challenge.
pub fn challenge_param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}="))? + name.len() + 1;
    let rest = &challenge[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next().map(str::to_string)
    } else {
        rest.split([',', ' ']).next().map(str::to_string)
    }
}

pub fn www_authenticate(resp: &Response) -> String {
    resp.headers()
        .get("www-authenticate")
        .expect("challenge header")
        .to_str()
        .unwrap()
        .to_string()
}

/// Builds a digest `Authorization` value for `method uri`.
#[allow(clippy::too_many_arguments)]
pub fn digest_header(
    algorithm: DigestAlgorithm,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    nc: u32,
    cnonce: &str,
) -> String {
    let nc = format!("{nc:08x}");
    let response = digest_response(
        algorithm,
        user,
        "MMS Public API",
        password,
        method,
        uri,
        nonce,
        &nc,
        cnonce,
        "auth",
    );
    format!(
        "Digest username=\"{user}\", realm=\"MMS Public API\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm={}, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\"",
        algorithm.name()
    )
}

/// A digest client that fetches a challenge once (with a body-less probe) and then sends
/// every request authenticated, counting nonce uses.
pub struct DigestClient {
    pub http: reqwest::Client,
    pub base: String,
    pub user: String,
    pub password: String,
    pub algorithm: DigestAlgorithm,
    nonce: Mutex<Option<String>>,
    nc: AtomicU32,
}

impl DigestClient {
    pub fn new(sim: &Simulator) -> Self {
        Self::with(sim, DigestAlgorithm::Md5, sim.private_key())
    }

    pub fn with(sim: &Simulator, algorithm: DigestAlgorithm, password: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: sim.base_url(),
            user: sim.public_key().to_string(),
            password: password.to_string(),
            algorithm,
            nonce: Mutex::new(None),
            nc: AtomicU32::new(0),
        }
    }

    /// Gets a fresh nonce from a 401 challenge of a body-less request.
    pub async fn refresh_nonce(&self) -> String {
        let resp = self
            .http
            .get(format!("{}/api/atlas/v2", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let nonce = challenge_param(&www_authenticate(&resp), "nonce").unwrap();
        *self.nonce.lock().unwrap() = Some(nonce.clone());
        self.nc.store(0, Ordering::SeqCst);
        nonce
    }

    pub async fn authorization(&self, method: &str, uri: &str) -> String {
        let cached = self.nonce.lock().unwrap().clone();
        let nonce = match cached {
            Some(n) => n,
            None => self.refresh_nonce().await,
        };
        let nc = self.nc.fetch_add(1, Ordering::SeqCst) + 1;
        digest_header(
            self.algorithm,
            &self.user,
            &self.password,
            method,
            uri,
            &nonce,
            nc,
            "0a4f113b",
        )
    }

    /// Sends with the operation's media types; retries once on a stale nonce.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<(&str, Value)>,
    ) -> reqwest::Result<Response> {
        for _ in 0..2 {
            let resp = self
                .send_once(method.clone(), path, accept, body.clone())
                .await?;
            if resp.status() == StatusCode::UNAUTHORIZED
                && challenge_param(&www_authenticate(&resp), "stale").as_deref() == Some("true")
            {
                *self.nonce.lock().unwrap() = None;
                continue;
            }
            return Ok(resp);
        }
        self.send_once(method, path, accept, body).await
    }

    pub async fn send_once(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<(&str, Value)>,
    ) -> reqwest::Result<Response> {
        let auth = self.authorization(method.as_str(), path).await;
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("accept", accept)
            .header("authorization", auth);
        if let Some((content_type, value)) = body {
            req = req
                .header("content-type", content_type)
                .body(serde_json::to_vec(&value).unwrap());
        }
        req.send().await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, V2023, None).await.unwrap()
    }

    pub async fn create_link_token(&self, org: &str) -> Response {
        let path = format!("/api/atlas/v2/orgs/{org}/liveMigrations/linkTokens");
        self.send(
            Method::POST,
            &path,
            V2023,
            Some((V2023, json!({"accessListIps": ["1.2.3.4"]}))),
        )
        .await
        .unwrap()
    }

    pub async fn create_migration(&self, group: &str, body: Value) -> reqwest::Result<Response> {
        let path = format!("/api/atlas/v2/groups/{group}/liveMigrations");
        self.send(Method::POST, &path, V2024, Some((V2024, body)))
            .await
    }

    pub async fn validate(&self, group: &str, body: Value) -> Response {
        let path = format!("/api/atlas/v2/groups/{group}/liveMigrations/validate");
        self.send(Method::POST, &path, V2024, Some((V2024, body)))
            .await
            .unwrap()
    }

    pub async fn get_migration(&self, group: &str, id: &str) -> Response {
        self.get(&format!("/api/atlas/v2/groups/{group}/liveMigrations/{id}"))
            .await
    }

    pub async fn cutover(&self, group: &str, id: &str) -> Response {
        let path = format!("/api/atlas/v2/groups/{group}/liveMigrations/{id}/cutover");
        self.send(Method::PUT, &path, V2023, None).await.unwrap()
    }
}

/// A valid `LiveMigrationRequest` into `group`.
pub fn migration_body(group: &str) -> Value {
    json!({
        "source": {
            "clusterName": "Cluster0",
            "groupId": "5e2211c17a3e5a48f5497de3",
            "managedAuthentication": false,
            "ssl": true,
            "username": "admin",
            "password": "s3cret"
        },
        "destination": {
            "clusterName": "Target",
            "groupId": group,
            "hostnameSchemaType": "PUBLIC"
        },
        "migrationHosts": ["migration-host-0.example.net"],
        "dropDestinationData": false,
        "sharding": {
            "createSupportingIndexes": true,
            "shardingEntries": [{
                "collection": "c",
                "database": "d",
                "shardCollection": {"key": [{"a": 1}, {"b": "hashed"}]}
            }]
        }
    })
}

pub async fn json(resp: Response) -> Value {
    resp.json().await.unwrap()
}
