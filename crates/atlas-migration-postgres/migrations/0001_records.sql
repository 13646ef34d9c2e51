-- Workflow records, one row per journal key. The lease columns say which process drives the
-- record; `generation` is the fencing token and only ever grows (rows are never deleted, so
-- a stale lease can never match a later one). Everything but `record` is a copy kept for
-- operators' plain SQL; `record` is the whole record as the workflow saved it.
CREATE TABLE __SCHEMA__.records (
    key                 text PRIMARY KEY,
    generation          bigint NOT NULL,
    lease_owner         text,
    lease_expires_at    timestamptz,
    lease_nonce         bigint,
    step                text,
    outcome             text,
    group_id            text,
    migration_id        text,
    destination_cluster text,
    create_intent_at    timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz,
    record              jsonb
);

COMMENT ON TABLE __SCHEMA__.records IS
    'push-migration workflow records (atlas-migration journal); write only through the library or its operator tool';
COMMENT ON COLUMN __SCHEMA__.records.generation IS
    'fencing token: grows on every lease taken; a save under an older generation is refused';
COMMENT ON COLUMN __SCHEMA__.records.step IS
    'where the workflow stands: new, validating, create_unconfirmed, migrating, ready_for_cutover, cutover_requested, complete, failed';

CREATE INDEX records_step ON __SCHEMA__.records (step);
