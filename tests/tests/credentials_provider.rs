//! Credentials that change while the client runs: the provider is asked when the client
//! first needs credentials and again when Atlas (or the token endpoint) refuses them; a
//! refused request is sent once more with new credentials, never in a loop.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use atlas_migration::{Client, Credentials, CredentialsProvider, Error};
use atlas_migration_sim::Simulator;
use atlas_migration_tests::{builder, linked, org};

/// Hands out `answers` in turn (the last one from then on), counting the questions.
struct Rotating {
    answers: Mutex<Vec<Credentials>>,
    asked: Arc<AtomicUsize>,
}

impl CredentialsProvider for Rotating {
    async fn credentials(&self) -> Result<Credentials, Error> {
        self.asked.fetch_add(1, Ordering::Relaxed);
        let mut answers = self.answers.lock().unwrap();
        Ok(if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        })
    }
}

fn client(sim: &Simulator, answers: Vec<Credentials>) -> (Client, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let provider = Rotating {
        answers: Mutex::new(answers),
        asked: asked.clone(),
    };
    let client = builder(&sim.base_url())
        .credentials_provider(provider)
        .build()
        .unwrap();
    (client, asked)
}

#[tokio::test]
async fn a_rotated_api_key_is_picked_up_after_the_old_one_is_refused() {
    let sim = linked(Simulator::builder()).await;
    let old = Credentials::api_key(sim.public_key(), "revoked-private-key".to_owned());
    let new = Credentials::api_key(sim.public_key(), sim.private_key().to_owned());
    let (client, asked) = client(&sim, vec![old, new]);
    client.list_source_projects(&org(&sim)).await.unwrap();
    assert_eq!(
        asked.load(Ordering::Relaxed),
        2,
        "once to start, once after the refusal"
    );
    client.list_source_projects(&org(&sim)).await.unwrap();
    assert_eq!(
        asked.load(Ordering::Relaxed),
        2,
        "not asked while the credentials work"
    );
}

#[tokio::test]
async fn a_rotated_service_account_secret_is_picked_up() {
    let sim = linked(Simulator::builder()).await;
    let old = Credentials::service_account(sim.client_id(), "revoked-secret".to_owned());
    let new = Credentials::service_account(sim.client_id(), sim.client_secret().to_owned());
    let (client, asked) = client(&sim, vec![old, new]);
    client.list_source_projects(&org(&sim)).await.unwrap();
    assert_eq!(asked.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn credentials_that_stay_wrong_are_refused_without_a_loop() {
    let sim = linked(Simulator::builder()).await;
    let wrong = Credentials::api_key(sim.public_key(), "wrong-private-key".to_owned());
    let (client, asked) = client(&sim, vec![wrong]);
    let error = client.list_source_projects(&org(&sim)).await.unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert_eq!(
        asked.load(Ordering::Relaxed),
        2,
        "asked once more, then the refusal stands"
    );
    assert!(!format!("{error} {error:?}").contains("wrong-private-key"));
}

#[tokio::test]
async fn a_closure_is_a_provider_asked_anew_after_a_refusal() {
    let sim = linked(Simulator::builder()).await;
    // Stands for a secret store that an operator rotates.
    let store = Arc::new(Mutex::new(Credentials::api_key(
        sim.public_key(),
        "revoked-private-key".to_owned(),
    )));
    let asked = Arc::new(AtomicUsize::new(0));
    let (reader, counter) = (store.clone(), asked.clone());
    let client = builder(&sim.base_url())
        .credentials_provider(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            let current = reader.lock().unwrap().clone();
            async move { Ok(current) }
        })
        .build()
        .unwrap();
    let refused = client.list_source_projects(&org(&sim)).await.unwrap_err();
    assert!(refused.is_auth(), "{refused}");
    *store.lock().unwrap() = Credentials::api_key(sim.public_key(), sim.private_key().to_owned());
    client.list_source_projects(&org(&sim)).await.unwrap();
    assert_eq!(
        asked.load(Ordering::Relaxed),
        3,
        "at start, after each refusal"
    );
}
