-- The network registry: the corridors (输电通道) the operator keeps between provinces. A coupled
-- session created without corridors copies the ones joining its provinces into its settings, so
-- a later change here never changes a session (replay reads the settings, not this table).
-- migrations/sqlite/0005_network.sql is the same table in SQLite's dialect.
CREATE TABLE corridors (
    from_province TEXT   NOT NULL,                                 -- Province code, e.g. QH
    to_province   TEXT   NOT NULL,                                 -- Province code, e.g. ZJ
    capacity_kwh  BIGINT NOT NULL CHECK (capacity_kwh >= 0),       -- the most sent per period
    loss          BIGINT NOT NULL CHECK (loss >= 0 AND loss < 10000), -- 1/10000 of sent energy
    tariff        BIGINT NOT NULL CHECK (tariff >= 0),             -- fen/MWh of sent energy
    updated_at_ms BIGINT NOT NULL,
    updated_by    BIGINT NOT NULL REFERENCES participants (id),
    PRIMARY KEY (from_province, to_province),
    CHECK (from_province <> to_province)
);
