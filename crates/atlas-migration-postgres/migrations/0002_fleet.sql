-- Fleet members shared by replicas, and the exclusive resources (migration hosts) they hold.
-- A member's claim is a lease (owner, expiry, generation as the fencing token); a replica
-- that stops renewing loses its members to the others when the leases expire. A resource
-- belongs to the member that holds it until that member finishes, whoever drives it, so a
-- migration host serves one migration across all replicas even while its member changes
-- hands.
CREATE TABLE __SCHEMA__.fleet_members (
    fleet            text NOT NULL,
    label            text NOT NULL,
    position         integer NOT NULL,
    exclusive        text[] NOT NULL,
    generation       bigint NOT NULL DEFAULT 0,
    claim_owner      text,
    claim_expires_at timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    registered_at    timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    outcome          text,
    message          text,
    PRIMARY KEY (fleet, label)
);

CREATE INDEX fleet_members_open ON __SCHEMA__.fleet_members (fleet, position)
    WHERE finished_at IS NULL;

CREATE TABLE __SCHEMA__.exclusive_claims (
    resource   text PRIMARY KEY,
    fleet      text NOT NULL,
    label      text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (fleet, label) REFERENCES __SCHEMA__.fleet_members (fleet, label) ON DELETE CASCADE
);

CREATE INDEX exclusive_claims_member ON __SCHEMA__.exclusive_claims (fleet, label);
