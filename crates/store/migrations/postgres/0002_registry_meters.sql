-- The certificate ledger: hash-chained entries, stored as the registry's canonical bytes.
-- The store does not interpret them; `lvdian verify` recomputes the chain from these bytes.
CREATE TABLE ledger (
    seq    BIGINT PRIMARY KEY,
    at_ms  BIGINT NOT NULL,
    entry  BYTEA  NOT NULL
);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only';
END
$$;

CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Meter data, one row per meter, month and version: the month's 15-minute values as
-- little-endian i64 kWh. A correction is a new version; earlier versions stay.
CREATE TABLE meter_months (
    meter          TEXT    NOT NULL,
    month          TEXT    NOT NULL, -- YYYY-MM
    version        BIGINT  NOT NULL CHECK (version >= 1),
    participant    TEXT    NOT NULL,
    intervals      BIGINT  NOT NULL CHECK (intervals > 0),
    total_kwh      BIGINT  NOT NULL CHECK (total_kwh >= 0),
    kwh            BYTEA   NOT NULL,
    imported_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (meter, month, version)
);
