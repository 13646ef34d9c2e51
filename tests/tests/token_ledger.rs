//! A crash-looping service: each run is a child process that takes a service account token,
//! makes one call and dies without revoking it. Without a token ledger the restarts use up
//! the account's live tokens (the simulator allows 10 here, as Atlas allows 100) and lock
//! out every other user of the account; with one, the restarts stop at the ledger's cap and
//! the account stays usable.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use atlas_migration::Client;
use atlas_migration_sim::Simulator;
use atlas_migration_tests as support;

/// Live tokens the simulator allows the service account.
const ACCOUNT_LIMIT: usize = 10;
/// Restarts of the crash-looping service.
const RESTARTS: usize = 14;
/// Live tokens the ledger allows the crash-looping service.
const LEDGER_CAP: u32 = 4;

/// How a child's run ended (its exit code).
const CALLED: i32 = 0;
const HELD_BACK: i32 = 20;
const REFUSED: i32 = 21;

/// One run of the crash-looping service, configured by environment variables. Ignored in a
/// normal run; the tests start it in child processes.
#[test]
#[ignore = "a child process of the token ledger tests"]
fn crash_looping_child() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let code = runtime.block_on(async {
        let mut builder = support::builder(&var("LEDGER_BASE_URL"))
            .retry_policy(support::quick_retries(2))
            .service_account(var("LEDGER_CLIENT_ID"), var("LEDGER_CLIENT_SECRET"));
        if let Ok(dir) = std::env::var("LEDGER_DIR") {
            builder = builder.token_ledger(dir, LEDGER_CAP);
        }
        let client = builder.build().unwrap();
        let org = var("LEDGER_ORG").parse().unwrap();
        match client.list_source_projects(&org).await {
            Ok(_) => CALLED,
            Err(e) if e.is_auth() && e.status().is_none() => {
                // Held back for as long as the oldest token lives: about an hour.
                let until = e.retry_at().expect("a held-back error says until when");
                let left = until - chrono::Utc::now();
                assert!(left > chrono::Duration::minutes(50), "{left} {e}");
                HELD_BACK
            }
            Err(e) if e.is_auth() => REFUSED,
            Err(e) => panic!("{e}"),
        }
    });
    // A crash: no revoke, nothing dropped in order.
    std::process::exit(code);
}

/// One run of the crash-looping service as a child process; its exit code.
async fn run_child(sim: &Simulator, ledger: Option<&Path>) -> i32 {
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "crash_looping_child",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env("LEDGER_BASE_URL", sim.base_url())
        .env("LEDGER_CLIENT_ID", sim.client_id())
        .env("LEDGER_CLIENT_SECRET", sim.client_secret())
        .env("LEDGER_ORG", sim.org_id())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(dir) = ledger {
        child.env("LEDGER_DIR", dir);
    }
    let status = tokio::time::timeout(Duration::from_secs(60), child.status())
        .await
        .expect("a run ends within a minute")
        .unwrap();
    status.code().unwrap_or(-1)
}

/// Runs the crash-looping service `RESTARTS` times, one run after another; the exit code
/// of each.
async fn crash_loop(sim: &Simulator, ledger: Option<&Path>) -> Vec<i32> {
    let mut codes = Vec::new();
    for _ in 0..RESTARTS {
        codes.push(run_child(sim, ledger).await);
    }
    codes
}

async fn sim() -> Simulator {
    let sim = Simulator::builder()
        .max_live_tokens(ACCOUNT_LIMIT)
        .start()
        .await
        .unwrap();
    support::link(&sim, &support::digest_client(&sim)).await;
    sim
}

/// Another service of the same account: does it still get a token?
async fn another_service_calls(sim: &Simulator) -> bool {
    let client: Client = support::account_client(sim);
    client
        .list_source_projects(&support::org(sim))
        .await
        .is_ok()
}

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!(
        "atlas-token-ledger-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ))
}

#[tokio::test]
async fn without_a_ledger_a_crash_loop_locks_the_account_out() {
    let sim = sim().await;
    let codes = crash_loop(&sim, None).await;
    let called = codes.iter().filter(|c| **c == CALLED).count();
    let refused = codes.iter().filter(|c| **c == REFUSED).count();
    assert_eq!(
        (called, refused),
        (ACCOUNT_LIMIT, RESTARTS - ACCOUNT_LIMIT),
        "{codes:?}"
    );
    assert!(!another_service_calls(&sim).await);
}

#[tokio::test]
async fn with_a_ledger_a_crash_loop_stops_at_its_cap_and_the_account_stays_usable() {
    let sim = sim().await;
    let dir = scratch();
    let codes = crash_loop(&sim, Some(&dir)).await;
    let cap = LEDGER_CAP as usize;
    assert_eq!(codes[..cap], [CALLED; LEDGER_CAP as usize], "{codes:?}");
    assert!(codes[cap..].iter().all(|c| *c == HELD_BACK), "{codes:?}");
    assert_eq!(sim.tokens_issued(), cap);
    assert_eq!(sim.token_requests(), cap, "held-back runs send nothing");
    assert!(another_service_calls(&sim).await);
    // The ledger holds no credential, no token.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains(sim.client_secret()), "{text}");
        assert!(!text.contains(sim.client_id()), "{text}");
        for token in sim.issued_tokens() {
            assert!(!text.contains(&token));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn replicas_starting_at_once_share_the_cap_exactly() {
    let sim = sim().await;
    let dir = scratch();
    let runs = (0..8).map(|_| run_child(&sim, Some(&dir)));
    let codes = futures::future::join_all(runs).await;
    let called = codes.iter().filter(|c| **c == CALLED).count();
    let held = codes.iter().filter(|c| **c == HELD_BACK).count();
    assert_eq!(
        (called, held),
        (LEDGER_CAP as usize, 8 - LEDGER_CAP as usize),
        "{codes:?}"
    );
    assert_eq!(sim.token_requests(), LEDGER_CAP as usize);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_revoked_token_leaves_the_ledger_and_refusals_never_enter_it() {
    let sim = sim().await;
    let dir = scratch();
    let build = || {
        support::builder(&sim.base_url())
            .service_account(sim.client_id(), sim.client_secret().to_owned())
            .token_ledger(&dir, 1)
            .build()
            .unwrap()
    };
    let org = support::org(&sim);
    for _ in 0..3 {
        // Each client is a process's last: its token flight goes with it.
        let client = build();
        client.list_source_projects(&org).await.unwrap();
        client.revoke().await.unwrap();
    }
    assert_eq!(sim.tokens_issued(), 3);
    // A wrong secret is refused by the endpoint, which does not count against the cap.
    let wrong = || {
        support::builder(&sim.base_url())
            .retry_policy(support::quick_retries(1))
            .service_account(sim.client_id(), "not-the-secret".to_owned())
            .token_ledger(&dir, 1)
            .build()
            .unwrap()
    };
    let refused = wrong().list_source_projects(&org).await.unwrap_err();
    assert_eq!(refused.status(), Some(401), "{refused}");
    let client = build();
    client.list_source_projects(&org).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_ledger_that_cannot_be_created_or_a_zero_cap_is_refused_at_build() {
    let file = scratch();
    std::fs::write(&file, "not a directory").unwrap();
    for (dir, cap) in [(file.join("ledger"), 4), (scratch(), 0)] {
        let e = Client::builder()
            .service_account("mdb_sa_id_1", "mdb_sa_sk_1".to_owned())
            .token_ledger(&dir, cap)
            .build()
            .unwrap_err();
        assert!(e.is_invalid_input(), "{e}");
        assert!(e.to_string().contains("token_ledger"), "{e}");
    }
    std::fs::remove_file(&file).unwrap();
}
