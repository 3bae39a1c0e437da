-- A participant's meter months (the hourly matching of one buyer reads its own meters and its
-- sellers', `Store::meter_months_of`), without scanning the month's every meter.
-- migrations/postgres/0013_meter_months_by_participant.sql is the twin.
CREATE INDEX meter_months_by_participant ON meter_months (participant, month);
