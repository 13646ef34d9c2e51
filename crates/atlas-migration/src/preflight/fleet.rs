//! The rule across a fleet: each request names its own migration host. Atlas documents that
//! "each push live migration job uses one migration host" (`getPushMigration`) and that its
//! agent "can transfer your MongoDB data between one source and one destination cluster"
//! (`LiveMigrationResponse.migrationHosts`), so two requests of one fleet on one host would
//! make one of them wait for, or collide with, the other.

use std::collections::HashMap;

use crate::request::MigrationRequest;

use super::quote::quote;
use super::report::{Finding, FindingCode};

/// How many other requests a finding names.
const MAX_NAMED: usize = 5;

/// Host names compare as DNS does: ASCII case does not matter, nor a trailing dot.
fn host_key(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// For each request (by position), a finding when another request of `requests` names the
/// same migration host; `None` for requests with a host of their own.
pub(super) fn shared_hosts(requests: &[MigrationRequest]) -> Vec<Option<Finding>> {
    let keys: Vec<String> = requests
        .iter()
        .map(|r| host_key(&r.migration_host))
        .collect();
    let mut by_host: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, key) in keys.iter().enumerate() {
        by_host.entry(key).or_default().push(index);
    }
    keys.iter()
        .enumerate()
        .map(|(index, key)| {
            let sharing = by_host.get(key.as_str())?;
            (sharing.len() > 1).then(|| finding(requests, index, sharing))
        })
        .collect()
}

fn finding(requests: &[MigrationRequest], index: usize, sharing: &[usize]) -> Finding {
    let others: Vec<usize> = sharing.iter().copied().filter(|&i| i != index).collect();
    let mut named = others
        .iter()
        .take(MAX_NAMED)
        .map(|&i| {
            format!(
                "index {i} (cluster {})",
                quote(&requests[i].source.cluster_name)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    if others.len() > MAX_NAMED {
        named.push_str(&format!(" and {} more", others.len() - MAX_NAMED));
    }
    Finding::new(
        FindingCode::HostSharedInFleet,
        format!(
            "migration host {} is also named by the fleet's request at {named}; a migration \
             host serves one migration, so give each request its own",
            quote(&requests[index].migration_host)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GroupId;
    use crate::request::{Destination, Source};

    fn request(cluster: &str, host: &str) -> MigrationRequest {
        let p: GroupId = "32b6e34b3d91647abb20e7b8".parse().unwrap();
        MigrationRequest::builder()
            .source(Source::new(cluster, p.clone()))
            .destination(Destination::new(format!("{cluster}-atlas"), p))
            .migration_host(host)
            .build()
            .unwrap()
    }

    #[test]
    fn own_hosts_pass_and_shared_hosts_flag_every_sharer() {
        let fleet = [
            request("a", "h1"),
            request("b", "h2"),
            request("c", "H1."),
            request("d", "h3"),
            request("e", "h1"),
        ];
        let found = shared_hosts(&fleet);
        let flagged: Vec<usize> = (0..fleet.len()).filter(|&i| found[i].is_some()).collect();
        assert_eq!(flagged, [0, 2, 4]);
        let first = found[0].as_ref().unwrap();
        assert!(first.is_error());
        assert_eq!(first.code, FindingCode::HostSharedInFleet);
        assert!(
            first
                .message
                .contains("index 2 (cluster \"c\"), index 4 (cluster \"e\")"),
            "{}",
            first.message
        );
        assert!(!first.message.contains("index 0"));
    }

    #[test]
    fn an_empty_or_single_fleet_has_nothing_to_share() {
        assert!(shared_hosts(&[]).is_empty());
        assert_eq!(shared_hosts(&[request("a", "h1")]), [None]);
    }

    #[test]
    fn a_large_fleet_on_one_host_names_a_few_and_counts_the_rest() {
        let fleet: Vec<_> = (0..2000).map(|i| request(&format!("c{i}"), "h")).collect();
        let found = shared_hosts(&fleet);
        assert!(found.iter().all(Option::is_some));
        let message = &found[0].as_ref().unwrap().message;
        assert!(message.contains(" and 1994 more"), "{message}");
        assert!(message.len() < 400, "{}", message.len());
    }
}
