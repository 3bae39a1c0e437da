-- Meter months packed with runs: `packing` 2 is the varint stream of packing 1 in which each
-- token is either one value, its zigzag delta shifted left by one, or a run, `((run - 2) << 1) | 1`
-- for `run` >= 2 values equal to the one before (distributed PV is zero all night). Rows of
-- packings 0 and 1 stay as they are. migrations/sqlite/0010_meter_packing_runs.sql is the twin.
-- The CHECK of 0009 was named by PostgreSQL after its table and column.
ALTER TABLE meter_months DROP CONSTRAINT meter_months_packing_check;
ALTER TABLE meter_months ADD CONSTRAINT meter_months_packing_check CHECK (packing IN (0, 1, 2));
