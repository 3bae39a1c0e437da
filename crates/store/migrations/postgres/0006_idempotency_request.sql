-- An idempotency key now remembers which request it answered: the SHA-256 of the request's
-- method, path and body. A retry whose request differs is refused instead of being given the
-- first reply. Keys remembered before this migration have no hash (NULL) and match any retry.
-- The key column holds the scope (method and path) and the client's key, so one key sent to two
-- routes, or to one route with two path parameters, is two keys.
-- migrations/sqlite/0006_idempotency_request.sql is the same change in SQLite's dialect.
ALTER TABLE idempotency ADD COLUMN request_sha256 BYTEA;
