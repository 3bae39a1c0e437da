-- Final settlement records and session snapshots compressed (Snappy): a province-year's are
-- about 800 MB of JSON otherwise. A row written from now on keeps its JSON in `packed`, with an
-- empty text column; rows written before keep their text, and `packed` is NULL.
-- migrations/sqlite/0011_packed_documents.sql is the twin.
ALTER TABLE final_settlements ADD COLUMN packed BYTEA;
ALTER TABLE session_snapshots ADD COLUMN packed BYTEA;
