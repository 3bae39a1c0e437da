-- Meter months packed with runs: `packing` 2 is the varint stream of packing 1 in which each
-- token is either one value, its zigzag delta shifted left by one, or a run, `((run - 2) << 1) | 1`
-- for `run` >= 2 values equal to the one before (distributed PV is zero all night). Rows of
-- packings 0 and 1 stay as they are. migrations/postgres/0010_meter_packing_runs.sql is the twin.
-- SQLite cannot change a CHECK in place: the table is copied into one that allows 2. No index,
-- trigger, view or foreign key refers to it.
CREATE TABLE meter_months_0010 (
    meter          TEXT    NOT NULL,
    month          TEXT    NOT NULL, -- YYYY-MM
    version        INTEGER NOT NULL CHECK (version >= 1),
    participant    TEXT    NOT NULL,
    intervals      INTEGER NOT NULL CHECK (intervals > 0),
    total_kwh      INTEGER NOT NULL CHECK (total_kwh >= 0),
    kwh            BLOB    NOT NULL,
    imported_at_ms INTEGER NOT NULL,
    packing        INTEGER NOT NULL DEFAULT 0 CHECK (packing IN (0, 1, 2)),
    PRIMARY KEY (meter, month, version)
) STRICT;

INSERT INTO meter_months_0010
    (meter, month, version, participant, intervals, total_kwh, kwh, imported_at_ms, packing)
SELECT meter, month, version, participant, intervals, total_kwh, kwh, imported_at_ms, packing
FROM meter_months;

DROP TABLE meter_months;

ALTER TABLE meter_months_0010 RENAME TO meter_months;
