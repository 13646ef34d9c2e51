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

/// Runs the binary with `args`; returns it, the base URL and the printed organization id.
fn spawn(args: &[&str]) -> (KillOnDrop, String, String) {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_atlas-migration-sim"))
            .args([
                "--port",
                "0",
                "--public-key",
                "curlpub",
                "--private-key",
                "curlpriv",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    // Everything up to the last line (the curl hint), so that closing the pipe on return
    // cannot fail a write of the binary's.
    let rest: Vec<String> = lines.by_ref().take(7).map(Result::unwrap).collect();
    assert!(rest[6].starts_with("try: curl"), "{rest:?}");
    assert!(
        rest[0].ends_with("curlpub") && rest[1].ends_with("curlpriv"),
        "{rest:?}"
    );
    let org = rest[4].split_whitespace().last().unwrap().to_string();
    (child, base, org)
}

/// Lists the organization's source projects with digest credentials, after a challenge.
async fn list_source_projects(base: &str, org: &str) -> reqwest::Response {
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
    http.get(format!("{base}{path}"))
        .header("authorization", auth)
        .header("accept", common::V2023)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn binary_answers_on_the_printed_base_url_with_the_given_credentials() {
    let (_child, base, org) = spawn(&["--seed", "5"]);
    let resp = list_source_projects(&base, &org).await;
    // No link token yet: an Atlas-shaped 400 proves the request got through auth.
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Metered by Atlas's documented organization set.
    assert_eq!(resp.headers()["ratelimit-limit"], "500");
    assert_eq!(
        common::json(resp).await["errorCode"],
        "LINK_TOKEN_NOT_FOUND"
    );
}

#[tokio::test]
async fn unmetered_flag_turns_rate_limits_off() {
    let (_child, base, org) = spawn(&["--unmetered"]);
    let resp = list_source_projects(&base, &org).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("ratelimit-limit").is_none());
}
