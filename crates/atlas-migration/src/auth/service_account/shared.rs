//! One token flight per service account per process, shared by every client built with the
//! same credentials.
//!
//! Atlas limits what a service account may ask of its token endpoint: about 50 token
//! requests a minute per IP address and client id, and 100 live tokens per service account,
//! refused beyond that with "Access Token limit reached" ("Service Account Access Token
//! Limits" in <https://www.mongodb.com/docs/mcp-server/remote-mcp/rate-limits/>, and
//! <https://www.mongodb.com/docs/atlas/api/service-accounts-overview/>: tokens last an hour).
//! A service that builds a client per tenant, per task or per request would otherwise hold
//! a token each and spend both limits; sharing one flight (one cached token, one request in
//! flight, one per-minute cap) keeps a process at one live token per service account.
//!
//! The registry keeps no credential: an entry is known by the token endpoint, the client id
//! and a keyed hash of the secret (keyed afresh each process), and holds its flight weakly,
//! so the flight goes with the last client that uses it.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use secrecy::{ExposeSecret, SecretString};

use super::flight::TokenFlight;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    token_url: String,
    client_id: String,
    secret: u64,
}

struct Registry {
    keys: RandomState,
    flights: Mutex<HashMap<Key, Weak<TokenFlight>>>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        keys: RandomState::new(),
        flights: Mutex::new(HashMap::new()),
    })
}

/// The flight of this service account at this token endpoint: the one other clients of the
/// process already use, or a new one capped at `per_minute` token requests a minute (the
/// first client's cap stands for all).
pub(crate) fn flight(
    token_url: &str,
    client_id: &str,
    secret: &SecretString,
    per_minute: u32,
) -> Arc<TokenFlight> {
    let registry = registry();
    let key = Key {
        token_url: token_url.to_owned(),
        client_id: client_id.to_owned(),
        secret: registry.keys.hash_one(secret.expose_secret()),
    };
    let mut flights = registry.flights.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(flight) = flights.get(&key).and_then(Weak::upgrade) {
        return flight;
    }
    flights.retain(|_, flight| flight.strong_count() > 0);
    let flight = Arc::new(TokenFlight::new(per_minute));
    flights.insert(key, Arc::downgrade(&flight));
    flight
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn same_credentials_share_a_flight_others_do_not() {
        let url = "https://cloud.example/api/oauth/token";
        let a = flight(url, "mdb_sa_id_1", &secret("s1"), 10);
        let b = flight(url, "mdb_sa_id_1", &secret("s1"), 10);
        assert!(Arc::ptr_eq(&a, &b), "one flight per service account");
        for (url, id, s) in [
            (url, "mdb_sa_id_1", "rotated"),
            (url, "mdb_sa_id_2", "s1"),
            (
                "https://elsewhere.example/api/oauth/token",
                "mdb_sa_id_1",
                "s1",
            ),
        ] {
            let other = flight(url, id, &secret(s), 10);
            assert!(!Arc::ptr_eq(&a, &other), "{url} {id} {s}");
        }
    }

    #[test]
    fn a_flight_goes_with_its_last_client() {
        let url = "https://cloud.example/api/oauth/token";
        let a = flight(url, "mdb_sa_id_gone", &secret("s"), 10);
        let weak = Arc::downgrade(&a);
        drop(a);
        assert!(weak.upgrade().is_none());
        let again = flight(url, "mdb_sa_id_gone", &secret("s"), 10);
        assert_eq!(Arc::strong_count(&again), 1);
    }
}
