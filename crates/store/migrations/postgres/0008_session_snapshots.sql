-- Snapshots of published sessions: a server loads a session no command can change any more from
-- its snapshot instead of replaying its whole journal. Derived data: written after the publish
-- commit (or at the first start that replays the session), checked against the journal by
-- `lvdian verify`, and never needed for correctness (a missing or stale snapshot means a replay).
-- migrations/sqlite/0008_session_snapshots.sql is the twin.
CREATE TABLE session_snapshots (
    session_id    BIGINT NOT NULL PRIMARY KEY REFERENCES sessions (id),
    last_seq      BIGINT NOT NULL,                 -- the journal's last sequence number it covers
    snapshot      TEXT NOT NULL,                 -- exchange::session::Snapshot as JSON
    created_at_ms BIGINT NOT NULL
);
