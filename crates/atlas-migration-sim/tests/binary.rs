//! The binary serves the simulator and prints its base URL first.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::StatusCode;

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_answers_on_the_printed_base_url_with_the_given_credentials() {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_atlas-migration-sim"))
            .args([
                "--port",
                "0",
                "--public-key",
                "curlpub",
                "--private-key",
                "curlpriv",
                "--seed",
                "5",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let rest: Vec<String> = lines.by_ref().take(6).map(Result::unwrap).collect();
    assert!(
        rest[0].ends_with("curlpub") && rest[1].ends_with("curlpriv"),
        "{rest:?}"
    );
    let org = rest[4].split_whitespace().last().unwrap().to_string();

    let path = format!("/api/atlas/v2/orgs/{org}/liveMigrations/availableProjects");
    let http = reqwest::Client::new();
    let resp = http.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let nonce = common::challenge_param(&common::www_authenticate(&resp), "nonce").unwrap();
    let auth = common::digest_header(
        atlas_migration_sim::DigestAlgorithm::Md5,
        "curlpub",
        "curlpriv",
        "GET",
        &path,
        &nonce,
        1,
        "x",
    );
    let resp = http
        .get(format!("{base}{path}"))
        .header("authorization", auth)
        .header("accept", common::V2023)
        .send()
        .await
        .unwrap();
    // No link token yet: an Atlas-shaped 400 proves the request got through auth.
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        common::json(resp).await["errorCode"],
        "LINK_TOKEN_NOT_FOUND"
    );
}
