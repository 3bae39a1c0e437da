-- The certificate ledger: hash-chained entries, stored as the registry's canonical bytes.
-- The store does not interpret them; `lvdian verify` recomputes the chain from these bytes.
CREATE TABLE ledger (
    seq    INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    entry  BLOB    NOT NULL
) STRICT;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;

CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;

-- Meter data, one row per meter, month and version: the month's 15-minute values as
-- little-endian i64 kWh. A correction is a new version; earlier versions stay.
CREATE TABLE meter_months (
    meter          TEXT    NOT NULL,
    month          TEXT    NOT NULL, -- YYYY-MM
    version        INTEGER NOT NULL CHECK (version >= 1),
    participant    TEXT    NOT NULL,
    intervals      INTEGER NOT NULL CHECK (intervals > 0),
    total_kwh      INTEGER NOT NULL CHECK (total_kwh >= 0),
    kwh            BLOB    NOT NULL,
    imported_at_ms INTEGER NOT NULL,
    PRIMARY KEY (meter, month, version)
) STRICT;
