-- Meter months packed compactly: `packing` 1 is the deltas of consecutive quarter-hours,
-- zigzag-encoded LEB128 varints (most quarter-hours of a month take one or two bytes instead of
-- eight); 0 is the first format, 8 bytes little-endian per value, which rows written before this
-- migration keep. migrations/sqlite/0009_meter_packing.sql is the twin.
ALTER TABLE meter_months ADD COLUMN packing BIGINT NOT NULL DEFAULT 0 CHECK (packing IN (0, 1));
