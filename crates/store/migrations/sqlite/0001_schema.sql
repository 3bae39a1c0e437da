-- lvdian's schema, SQLite flavour (see the crate doc of `store` for what each table is for).
--
-- Every table is STRICT, so a column declared INTEGER can hold nothing but an integer: kWh,
-- fen/MWh, fen and ms timestamps are never REAL. JSON documents (session settings, journal
-- commands, contract volumes, project meters) are TEXT written and read by serde_json.
-- migrations/postgres/0001_schema.sql is the same schema in PostgreSQL's dialect: keep them in step.

CREATE TABLE participants (
    id            INTEGER PRIMARY KEY AUTOINCREMENT, -- ids are never reused
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,                  -- Role::as_str
    province      TEXT    NOT NULL,                  -- Province code, e.g. ZJ
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    token_hash     BLOB    PRIMARY KEY CHECK (length(token_hash) = 32), -- SHA-256 of the token
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    label          TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL
) STRICT;

CREATE INDEX tokens_by_participant ON tokens (participant_id);

CREATE TABLE projects (
    code          TEXT    PRIMARY KEY CHECK (length(code) = 17), -- 项目备案编码
    owner         INTEGER NOT NULL REFERENCES participants (id),
    technology    TEXT    NOT NULL,                              -- serde name, e.g. wind_onshore
    capacity_kw   INTEGER NOT NULL CHECK (capacity_kw >= 0),
    province      TEXT    NOT NULL,
    subsidised    INTEGER NOT NULL CHECK (subsidised IN (0, 1)),
    meters        TEXT    NOT NULL,                              -- JSON array of meter ids
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX projects_by_owner ON projects (owner);

-- Each meter measures one project; projects.meters keeps the project's own order of them.
CREATE TABLE meters (
    meter_id     TEXT    PRIMARY KEY,
    project_code TEXT    NOT NULL REFERENCES projects (code),
    position     INTEGER NOT NULL
) STRICT;

CREATE INDEX meters_by_project ON meters (project_code);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    settings      TEXT    NOT NULL, -- JSON of exchange::session::SessionSettings
    state         TEXT    NOT NULL, -- SessionState::as_str, as of the last committed batch
    created_at_ms INTEGER NOT NULL
) STRICT;

-- The source of truth: every command a session accepted, in order. Replaying it through
-- exchange::session::Session::apply rebuilds the session exactly. Append-only (triggers below).
CREATE TABLE journal (
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    at_ms      INTEGER NOT NULL,
    command    TEXT    NOT NULL, -- JSON of exchange::session::Command
    PRIMARY KEY (session_id, seq)
) STRICT;

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal is append-only');
END;

CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal is append-only');
END;

-- Orders as accepted, derived from the journal and written in the same transaction.
CREATE TABLE orders (
    session_id      INTEGER NOT NULL REFERENCES sessions (id),
    id              INTEGER NOT NULL,
    participant_id  INTEGER NOT NULL,
    side            TEXT    NOT NULL, -- buy | sell
    period          INTEGER NOT NULL, -- index into the session's period template
    volume_kwh      INTEGER NOT NULL,
    energy_price    INTEGER NOT NULL, -- fen/MWh
    env_price       INTEGER NOT NULL, -- fen/MWh
    time_in_force   TEXT    NOT NULL, -- limit | ioc
    submitted_at_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, id)
) STRICT;

-- Contracts as made, derived from the journal and written in the same transaction.
CREATE TABLE contracts (
    session_id    INTEGER NOT NULL REFERENCES sessions (id),
    id            INTEGER NOT NULL,
    seller        INTEGER NOT NULL,
    buyer         INTEGER NOT NULL,
    volumes       TEXT    NOT NULL, -- JSON array of {period, volume} (kWh)
    energy_price  INTEGER NOT NULL, -- fen/MWh
    env_price     INTEGER NOT NULL, -- fen/MWh
    compensation  INTEGER NOT NULL, -- fen/MWh
    status        TEXT    NOT NULL, -- serde name, e.g. effective
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, id)
) STRICT;

-- Responses remembered for Idempotency-Key headers; the first response for a key wins.
CREATE TABLE idempotency (
    participant_id INTEGER NOT NULL,
    key            TEXT    NOT NULL,
    status         INTEGER NOT NULL, -- HTTP status
    body           TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (participant_id, key)
) STRICT;

-- Every read of sealed data, in the order it was logged.
CREATE TABLE access_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id INTEGER NOT NULL,
    at_ms          INTEGER NOT NULL,
    what           TEXT    NOT NULL
) STRICT;
