//! [`FleetStore`]: fleet members and their exclusive resources in the database, claimed by
//! any replica.
//!
//! A claim is a lease on one member: an owner, an expiry computed with the server's clock,
//! and a generation that grows on every claim (the fencing token: renewing, giving back and
//! finishing all name it, and do nothing for a generation that is no longer the member's).
//! Claims pick members in their order with `FOR UPDATE SKIP LOCKED`, so replicas claiming
//! at once never wait for each other and never take the same member; a member whose claim
//! expired (its replica died or stopped renewing) is claimed again like an unstarted one.
//! A claim is one statement: choosing, claiming and holding the member's resources commit
//! together or not at all. Two claims racing for one resource end with one of them failing
//! on the resource's key (PostgreSQL logs it as a unique violation) and choosing again.
//!
//! A member holds its exclusive resources (a migration host) from its first claim until it
//! finishes, whichever replica drives it: a replica that dies mid-migration leaves the
//! migration running in Atlas, so its host must not go to another member before the orphan
//! is taken over and finished. `exclusive_claims.resource` is the primary key, so two
//! members can never hold one resource, whatever the replicas do.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Json;

use crate::database::{Database, prepare};
use crate::error::{Error, Kind};

/// One member as a replica declares it: its label and the resources it needs alone.
///
/// ```
/// use atlas_migration_postgres::MemberSpec;
/// let spec = MemberSpec::new("orders").exclusive("migration host vm001");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct MemberSpec {
    label: String,
    exclusive: BTreeSet<String>,
}

impl MemberSpec {
    /// A member named `label`.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            exclusive: BTreeSet::new(),
        }
    }

    /// Needs `resource` alone (for a migration host, the text of
    /// [`Exclusive::migration_host`](atlas_migration::workflow::Exclusive::migration_host)).
    pub fn exclusive(mut self, resource: impl Into<String>) -> Self {
        self.exclusive.insert(resource.into());
        self
    }

    /// The member's label.
    ///
    /// ```
    /// assert_eq!(atlas_migration_postgres::MemberSpec::new("a").label(), "a");
    /// ```
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// A member claimed by one replica: its lease. Renew it before it expires; finish it with
/// [`FleetStore::complete`] or give it back with [`FleetStore::release`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberClaim {
    /// The fleet.
    pub fleet: String,
    /// The member.
    pub label: String,
    /// The resources the member holds alone, sorted.
    pub exclusive: Vec<String>,
    /// The fencing token: higher on every claim of this member.
    pub generation: i64,
    /// The replica holding the claim.
    pub owner: String,
    /// When the claim lapses unless renewed (the server's clock).
    pub expires_at: DateTime<Utc>,
    /// How many times the member has been claimed, this claim included.
    pub attempts: i32,
}

/// How a finished member ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberOutcome {
    /// The migration is complete.
    Complete,
    /// The migration is ready and waits for the caller to cut over.
    ReadyForCutover,
    /// The workflow failed.
    Failed,
    /// The workflow stopped while its migration may still run in Atlas (its create
    /// unconfirmed, or a failure before the migration ended): the member keeps its
    /// resources, so no other member starts a migration on its host. The next
    /// [`register`](FleetStore::register) of the fleet (the next run of any replica) opens
    /// it again, to be driven on from its journal record once an operator resolved it.
    Held,
}

impl MemberOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::ReadyForCutover => "ready_for_cutover",
            Self::Failed => "failed",
            Self::Held => "held",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "complete" => Some(Self::Complete),
            "ready_for_cutover" => Some(Self::ReadyForCutover),
            "failed" => Some(Self::Failed),
            "held" => Some(Self::Held),
            _ => None,
        }
    }
}

/// Where one member stands, as the database says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberStatus {
    /// The member.
    pub label: String,
    /// The resources it needs alone.
    pub exclusive: Vec<String>,
    /// The replica holding a live claim on it, if any.
    pub claimed_by: Option<String>,
    /// How many times it was claimed.
    pub attempts: i32,
    /// How it ended, once finished.
    pub outcome: Option<MemberOutcome>,
    /// The finishing replica's message (the error, for a failure).
    pub message: Option<String>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A member that cannot be claimed now because another member holds a resource it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Blocked {
    /// The waiting member.
    pub label: String,
    /// The resource it waits for.
    pub resource: String,
    /// The member holding it.
    pub held_by: String,
    /// Whether that member finished as [`MemberOutcome::Held`]: it keeps the resource until
    /// it is resolved and run again, so waiting for it in this run is pointless.
    pub until_resolved: bool,
}

/// Fleet members and exclusive resources shared by replicas through the database.
///
/// ```no_run
/// use std::time::Duration;
/// use atlas_migration_postgres::{Database, FleetStore, MemberOutcome, MemberSpec};
///
/// # async fn f(db: Database) -> Result<(), atlas_migration_postgres::Error> {
/// let store = FleetStore::new(&db);
/// store.register("eu-rollout", &[MemberSpec::new("orders").exclusive("migration host vm001")]).await?;
/// let labels = ["orders".to_owned()];
/// if let Some(claim) = store.claim("eu-rollout", &labels, "replica-a", Duration::from_secs(30)).await? {
///     // ... run the member's workflow, renewing the claim every few seconds ...
///     store.complete(&claim, MemberOutcome::Complete, "").await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FleetStore {
    db: Database,
    members: String,
    claims: String,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl FleetStore {
    /// The store in `db`'s schema.
    ///
    /// ```no_run
    /// # fn f(db: &atlas_migration_postgres::Database) {
    /// let store = atlas_migration_postgres::FleetStore::new(db);
    /// # }
    /// ```
    pub fn new(db: &Database) -> Self {
        Self {
            db: db.clone(),
            members: db.table("fleet_members"),
            claims: db.table("exclusive_claims"),
        }
    }

    /// Adds the members of fleet `fleet` that the database does not hold yet, in the
    /// given order (each replica registers the same list; registering again is harmless),
    /// and opens again those of them that finished [`MemberOutcome::Held`], keeping their
    /// resources: a run after an operator resolved them drives them on.
    ///
    /// # Errors
    /// [`Error::is_mismatch`] when a label is already registered with other exclusive
    /// resources; a database failure.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore) -> Result<(), atlas_migration_postgres::Error> {
    /// use atlas_migration_postgres::MemberSpec;
    /// store.register("fleet-1", &[MemberSpec::new("a"), MemberSpec::new("b")]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn register(&self, fleet: &str, members: &[MemberSpec]) -> Result<(), Error> {
        let rows: Vec<serde_json::Value> = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                serde_json::json!({
                    "label": m.label,
                    "position": i,
                    "exclusive": m.exclusive.iter().collect::<Vec<_>>(),
                })
            })
            .collect();
        let insert = format!(
            "INSERT INTO {} (fleet, label, position, exclusive)
             SELECT $1, m->>'label', (m->>'position')::int,
                    ARRAY(SELECT jsonb_array_elements_text(m->'exclusive') ORDER BY 1)
             FROM jsonb_array_elements($2::jsonb) AS m
             ON CONFLICT (fleet, label) DO NOTHING",
            self.members
        );
        let reopen = format!(
            "UPDATE {} SET finished_at = NULL, outcome = NULL, message = NULL
             WHERE fleet = $1 AND label = ANY($2) AND outcome = 'held'",
            self.members
        );
        let select = format!(
            "SELECT label, exclusive FROM {} WHERE fleet = $1 AND label = ANY($2)",
            self.members
        );
        let labels: Vec<&str> = members.iter().map(|m| m.label.as_str()).collect();
        self.db
            .execute(
                "registering fleet members",
                "cannot add the members",
                &insert,
                &[&fleet, &Json(&rows)],
            )
            .await?;
        self.db
            .execute(
                "registering fleet members",
                "cannot open held members again",
                &reopen,
                &[&fleet, &labels],
            )
            .await?;
        let stored = self
            .db
            .query(
                "registering fleet members",
                "cannot read the members back",
                &select,
                &[&fleet, &labels],
            )
            .await?;
        let stored = stored
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<String>>(1)));
        for (label, exclusive) in stored {
            let Some(given) = members.iter().find(|m| m.label == label) else {
                continue;
            };
            let given: Vec<String> = given.exclusive.iter().cloned().collect();
            if given != exclusive {
                return Err(Error::new(
                    Kind::Mismatch,
                    format!(
                        "fleet {fleet}: member {label} is registered with exclusive {exclusive:?}, \
                         this replica declares {given:?}"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Claims the first unfinished member of `fleet` among `labels` that no live claim
    /// holds and whose resources are free (or already its own), for `owner` until `ttl`
    /// from now (the server's clock); `None` when there is none at the moment.
    ///
    /// # Errors
    /// A database failure.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore, labels: Vec<String>) -> Result<(), atlas_migration_postgres::Error> {
    /// let claim = store.claim("fleet-1", &labels, "replica-a", std::time::Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn claim(
        &self,
        fleet: &str,
        labels: &[String],
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<MemberClaim>, Error> {
        // One statement, so one round trip and one transaction: choose the first free
        // member, claim it, and hold the resources it does not hold yet. A resource that
        // another claim took after this statement's snapshot makes the insert fail with a
        // unique violation, which undoes the whole statement (the member is not claimed, no
        // resource is held); the choice is then made again, seeing that resource held.
        //
        // The choice walks the members in order and stops at the first that fits. The
        // `CASE` keeps the cheap test first (most members passed over are claimed), so the
        // label and resource tests run only on unclaimed members; `OFFSET 0` keeps each
        // resource's test a lookup by its key rather than a join with every held resource.
        let sql = format!(
            "WITH claimed AS (
                 UPDATE {members} m
                 SET generation = m.generation + 1, claim_owner = $3,
                     claim_expires_at = now() + make_interval(secs => $4),
                     attempts = m.attempts + 1, started_at = coalesce(m.started_at, now())
                 WHERE (m.fleet, m.label) = (
                     SELECT f.fleet, f.label FROM {members} f
                     WHERE f.fleet = $1 AND f.finished_at IS NULL
                       AND CASE WHEN f.claim_expires_at IS NULL OR f.claim_expires_at <= now()
                           THEN f.label = ANY($2) AND NOT EXISTS (
                               SELECT 1 FROM unnest(f.exclusive) AS r (resource),
                                   LATERAL (SELECT c.fleet, c.label FROM {claims} c
                                            WHERE c.resource = r.resource OFFSET 0) AS c
                               WHERE (c.fleet, c.label) <> (f.fleet, f.label))
                           ELSE false END
                     ORDER BY f.position
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED)
                 RETURNING m.label, m.exclusive, m.generation, m.claim_expires_at, m.attempts),
             held AS (
                 INSERT INTO {claims} (resource, fleet, label)
                 SELECT r, $1, claimed.label FROM claimed, unnest(claimed.exclusive) AS r
                 WHERE NOT EXISTS (
                     SELECT 1 FROM {claims} c
                     WHERE c.resource = r AND c.fleet = $1 AND c.label = claimed.label
                     OFFSET 0)
                 ORDER BY r)
             SELECT label, exclusive, generation, claim_expires_at, attempts FROM claimed",
            members = self.members,
            claims = self.claims
        );
        for _ in 0..16 {
            let claimed = self
                .db
                .run("claiming a fleet member", |client| {
                    let sql = &sql;
                    async move {
                        let statement = prepare(&client, sql).await?;
                        match client
                            .query_opt(&statement, &[&fleet, &labels, &owner, &secs(ttl)])
                            .await
                        {
                            Ok(row) => Ok(Some(row.map(|row| MemberClaim {
                                fleet: fleet.to_owned(),
                                label: row.get(0),
                                exclusive: row.get(1),
                                generation: row.get(2),
                                owner: owner.to_owned(),
                                expires_at: row.get(3),
                                attempts: row.get(4),
                            }))),
                            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Ok(None),
                            Err(e) => Err(Error::postgres("cannot claim a member", e)),
                        }
                    }
                })
                .await?;
            if let Some(claimed) = claimed {
                if let Some(claim) = &claimed {
                    tracing::debug!(
                        fleet,
                        label = claim.label,
                        generation = claim.generation,
                        owner,
                        "fleet member claimed"
                    );
                }
                return Ok(claimed);
            }
        }
        Ok(None)
    }

    /// Extends `claim` to `ttl` from now.
    ///
    /// # Errors
    /// [`Error::is_claim_lost`] when the claim expired, was taken over, released or
    /// finished; a database failure.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore, claim: atlas_migration_postgres::MemberClaim) -> Result<(), atlas_migration_postgres::Error> {
    /// let claim = store.renew(&claim, std::time::Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn renew(&self, claim: &MemberClaim, ttl: Duration) -> Result<MemberClaim, Error> {
        let sql = format!(
            "UPDATE {} SET claim_expires_at = now() + make_interval(secs => $5)
             WHERE fleet = $1 AND label = $2 AND generation = $3 AND claim_owner = $4
               AND claim_expires_at > now() AND finished_at IS NULL
             RETURNING claim_expires_at",
            self.members
        );
        let row = self
            .db
            .query_opt(
                "renewing a fleet claim",
                "cannot renew the claim",
                &sql,
                &[
                    &claim.fleet,
                    &claim.label,
                    &claim.generation,
                    &claim.owner,
                    &secs(ttl),
                ],
            )
            .await?;
        match row {
            Some(row) => Ok(MemberClaim {
                expires_at: row.get(0),
                ..claim.clone()
            }),
            None => Err(lost(claim, "cannot renew")),
        }
    }

    /// Gives `claim` back unfinished: any replica may claim the member again after
    /// `retry_after`. The member keeps its resources (it may have started a migration).
    ///
    /// # Errors
    /// [`Error::is_claim_lost`] when the claim was no longer this one; a database failure.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore, claim: atlas_migration_postgres::MemberClaim) -> Result<(), atlas_migration_postgres::Error> {
    /// store.release(&claim, std::time::Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn release(&self, claim: &MemberClaim, retry_after: Duration) -> Result<(), Error> {
        let sql = format!(
            "UPDATE {} SET claim_owner = NULL,
                 claim_expires_at = now() + make_interval(secs => $5)
             WHERE fleet = $1 AND label = $2 AND generation = $3 AND claim_owner = $4
               AND finished_at IS NULL",
            self.members
        );
        let n = self
            .db
            .execute(
                "releasing a fleet claim",
                "cannot release the claim",
                &sql,
                &[
                    &claim.fleet,
                    &claim.label,
                    &claim.generation,
                    &claim.owner,
                    &secs(retry_after),
                ],
            )
            .await?;
        if n == 0 {
            return Err(lost(claim, "cannot release"));
        }
        Ok(())
    }

    /// Finishes the member of `claim` with `outcome` (and a message, such as the error)
    /// and frees its resources for other members. Refused when another replica claimed
    /// the member since; a claim that lapsed with nobody taking over still finishes.
    ///
    /// # Errors
    /// [`Error::is_claim_lost`] when the member was claimed again or finished; a
    /// database failure.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore, claim: atlas_migration_postgres::MemberClaim) -> Result<(), atlas_migration_postgres::Error> {
    /// use atlas_migration_postgres::MemberOutcome;
    /// store.complete(&claim, MemberOutcome::Complete, "").await?;
    /// # Ok(()) }
    /// ```
    pub async fn complete(
        &self,
        claim: &MemberClaim,
        outcome: MemberOutcome,
        message: &str,
    ) -> Result<(), Error> {
        let finish = format!(
            "UPDATE {} SET finished_at = now(), outcome = $5, message = $6,
                 claim_owner = NULL, claim_expires_at = NULL
             WHERE fleet = $1 AND label = $2 AND generation = $3 AND claim_owner = $4
               AND finished_at IS NULL",
            self.members
        );
        let free = format!(
            "DELETE FROM {} WHERE fleet = $1 AND label = $2",
            self.claims
        );
        let finished = self
            .db
            .run("finishing a fleet member", |mut client| {
                let (finish, free) = (&finish, &free);
                async move {
                    let tx = client
                        .transaction()
                        .await
                        .map_err(|e| Error::postgres("cannot begin", e))?;
                    let n = tx
                        .execute(
                            finish,
                            &[
                                &claim.fleet,
                                &claim.label,
                                &claim.generation,
                                &claim.owner,
                                &outcome.as_str(),
                                &message,
                            ],
                        )
                        .await
                        .map_err(|e| Error::postgres("cannot finish the member", e))?;
                    // A held member's migration may still run on its resources: kept.
                    if n == 1 && outcome != MemberOutcome::Held {
                        tx.execute(free, &[&claim.fleet, &claim.label])
                            .await
                            .map_err(|e| Error::postgres("cannot free its resources", e))?;
                    }
                    tx.commit()
                        .await
                        .map_err(|e| Error::postgres("cannot commit", e))?;
                    Ok(n == 1)
                }
            })
            .await?;
        if finished {
            Ok(())
        } else {
            // A retried commit whose first attempt landed also ends here: look.
            let done = self
                .status(&claim.fleet)
                .await?
                .into_iter()
                .any(|m| m.label == claim.label && m.outcome == Some(outcome));
            if done {
                Ok(())
            } else {
                Err(lost(claim, "cannot finish"))
            }
        }
    }

    /// Every member of `fleet`, in order.
    ///
    /// # Errors
    /// A database failure, or an outcome this release does not know.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore) -> Result<(), atlas_migration_postgres::Error> {
    /// for m in store.status("fleet-1").await? {
    ///     println!("{} {:?}", m.label, m.outcome);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn status(&self, fleet: &str) -> Result<Vec<MemberStatus>, Error> {
        let sql = format!(
            "SELECT label, exclusive,
                    CASE WHEN claim_owner IS NOT NULL AND claim_expires_at > now()
                         THEN claim_owner END,
                    attempts, outcome, message, finished_at
             FROM {} WHERE fleet = $1 ORDER BY position",
            self.members
        );
        let rows = self
            .db
            .query(
                "reading a fleet",
                "cannot read the members",
                &sql,
                &[&fleet],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let outcome: Option<String> = r.get(4);
                let outcome = match outcome {
                    None => None,
                    Some(text) => Some(MemberOutcome::parse(&text).ok_or_else(|| {
                        Error::new(Kind::Corrupt, format!("unknown member outcome {text:?}"))
                    })?),
                };
                Ok(MemberStatus {
                    label: r.get(0),
                    exclusive: r.get(1),
                    claimed_by: r.get(2),
                    attempts: r.get(3),
                    outcome,
                    message: r.get(5),
                    finished_at: r.get(6),
                })
            })
            .collect()
    }

    /// Unfinished members among `labels` that cannot be claimed because another member
    /// holds a resource they need.
    ///
    /// # Errors
    /// A database failure.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore, labels: Vec<String>) -> Result<(), atlas_migration_postgres::Error> {
    /// for b in store.blocked("fleet-1", &labels).await? {
    ///     println!("{} waits for {} (held by {})", b.label, b.resource, b.held_by);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn blocked(&self, fleet: &str, labels: &[String]) -> Result<Vec<Blocked>, Error> {
        let sql = format!(
            "SELECT m.label, c.resource, c.label, h.outcome IS NOT DISTINCT FROM 'held'
             FROM {members} m
             JOIN {claims} c ON c.resource = ANY(m.exclusive)
                 AND (c.fleet, c.label) <> (m.fleet, m.label)
             JOIN {members} h ON (h.fleet, h.label) = (c.fleet, c.label)
             WHERE m.fleet = $1 AND m.label = ANY($2) AND m.finished_at IS NULL
             ORDER BY m.position, c.resource",
            members = self.members,
            claims = self.claims
        );
        let rows = self
            .db
            .query(
                "reading blocked members",
                "cannot read blocked members",
                &sql,
                &[&fleet, &labels],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Blocked {
                label: r.get(0),
                resource: r.get(1),
                held_by: r.get(2),
                until_resolved: r.get(3),
            })
            .collect())
    }

    /// How many members among `labels` have not finished.
    ///
    /// # Errors
    /// A database failure.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore, labels: Vec<String>) -> Result<(), atlas_migration_postgres::Error> {
    /// let open = store.unfinished("fleet-1", &labels).await?;
    /// # Ok(()) }
    /// ```
    pub async fn unfinished(&self, fleet: &str, labels: &[String]) -> Result<u64, Error> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE fleet = $1 AND label = ANY($2) AND finished_at IS NULL",
            self.members
        );
        let n: i64 = self
            .db
            .query_one(
                "counting unfinished members",
                "cannot count the members",
                &sql,
                &[&fleet, &labels],
            )
            .await?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The member holding `resource`, if any: `(fleet, label)`.
    ///
    /// # Errors
    /// A database failure.
    ///
    /// ```no_run
    /// # async fn f(store: atlas_migration_postgres::FleetStore) -> Result<(), atlas_migration_postgres::Error> {
    /// if let Some((fleet, label)) = store.holder("migration host vm001").await? {
    ///     println!("vm001 serves {label} of {fleet}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn holder(&self, resource: &str) -> Result<Option<(String, String)>, Error> {
        let sql = format!(
            "SELECT fleet, label FROM {} WHERE resource = $1",
            self.claims
        );
        let row = self
            .db
            .query_opt(
                "reading a resource's holder",
                "cannot read the holder",
                &sql,
                &[&resource],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }
}

fn lost(claim: &MemberClaim, what: &str) -> Error {
    Error::new(
        Kind::ClaimLost,
        format!(
            "{what} member {} of fleet {}: claim generation {} of {} is no longer current \
             (expired and taken over, released, or finished)",
            claim.label, claim.fleet, claim.generation, claim.owner
        ),
    )
}
