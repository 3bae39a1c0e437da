-- Checkpoints of the certificate registry (registry::Registry::checkpoint, Snappy-compressed):
-- the state after ledger entry `seq`, so that a start replays only the entries after it.
-- Derived data, written after its entries commit; `lvdian verify` replays the ledger and
-- compares. Only the latest is kept. migrations/sqlite/0012_registry_checkpoints.sql is the
-- twin.
CREATE TABLE registry_checkpoints (
    seq           BIGINT PRIMARY KEY CHECK (seq >= 0),
    state         BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL
);
