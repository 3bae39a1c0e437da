-- lvdian's schema, PostgreSQL flavour (see the crate doc of `store` for what each table is for).
--
-- Every quantity (kWh, fen/MWh, fen, ms timestamps) is a BIGINT, never a float or numeric. JSON
-- documents (session settings, journal commands, contract volumes, project meters) are TEXT
-- written and read by serde_json, byte for byte as on SQLite.
-- migrations/sqlite/0001_schema.sql is the same schema in SQLite's dialect: keep them in step.

CREATE TABLE participants (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT   NOT NULL UNIQUE,
    role          TEXT   NOT NULL,                  -- Role::as_str
    province      TEXT   NOT NULL,                  -- Province code, e.g. ZJ
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE tokens (
    token_hash     BYTEA  PRIMARY KEY CHECK (octet_length(token_hash) = 32), -- SHA-256 of the token
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    label          TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL
);

CREATE INDEX tokens_by_participant ON tokens (participant_id);

CREATE TABLE projects (
    code          TEXT    PRIMARY KEY CHECK (length(code) = 17), -- 项目备案编码
    owner         BIGINT  NOT NULL REFERENCES participants (id),
    technology    TEXT    NOT NULL,                              -- serde name, e.g. wind_onshore
    capacity_kw   BIGINT  NOT NULL CHECK (capacity_kw >= 0),
    province      TEXT    NOT NULL,
    subsidised    BOOLEAN NOT NULL,
    meters        TEXT    NOT NULL,                              -- JSON array of meter ids
    created_at_ms BIGINT  NOT NULL
);

CREATE INDEX projects_by_owner ON projects (owner);

-- Each meter measures one project; projects.meters keeps the project's own order of them.
CREATE TABLE meters (
    meter_id     TEXT   PRIMARY KEY,
    project_code TEXT   NOT NULL REFERENCES projects (code),
    position     BIGINT NOT NULL
);

CREATE INDEX meters_by_project ON meters (project_code);

CREATE TABLE sessions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT   NOT NULL,
    settings      TEXT   NOT NULL, -- JSON of exchange::session::SessionSettings
    state         TEXT   NOT NULL, -- SessionState::as_str, as of the last committed batch
    created_at_ms BIGINT NOT NULL
);

-- The source of truth: every command a session accepted, in order. Replaying it through
-- exchange::session::Session::apply rebuilds the session exactly. Append-only (trigger below).
CREATE TABLE journal (
    session_id BIGINT NOT NULL REFERENCES sessions (id),
    seq        BIGINT NOT NULL CHECK (seq >= 0),
    at_ms      BIGINT NOT NULL,
    command    TEXT   NOT NULL, -- JSON of exchange::session::Command
    PRIMARY KEY (session_id, seq)
);

CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal is append-only';
END
$$;

CREATE TRIGGER journal_no_update BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_append_only();

CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- Orders as accepted, derived from the journal and written in the same transaction.
CREATE TABLE orders (
    session_id      BIGINT NOT NULL REFERENCES sessions (id),
    id              BIGINT NOT NULL,
    participant_id  BIGINT NOT NULL,
    side            TEXT   NOT NULL, -- buy | sell
    period          BIGINT NOT NULL, -- index into the session's period template
    volume_kwh      BIGINT NOT NULL,
    energy_price    BIGINT NOT NULL, -- fen/MWh
    env_price       BIGINT NOT NULL, -- fen/MWh
    time_in_force   TEXT   NOT NULL, -- limit | ioc
    submitted_at_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, id)
);

-- Contracts as made, derived from the journal and written in the same transaction.
CREATE TABLE contracts (
    session_id    BIGINT NOT NULL REFERENCES sessions (id),
    id            BIGINT NOT NULL,
    seller        BIGINT NOT NULL,
    buyer         BIGINT NOT NULL,
    volumes       TEXT   NOT NULL, -- JSON array of {period, volume} (kWh)
    energy_price  BIGINT NOT NULL, -- fen/MWh
    env_price     BIGINT NOT NULL, -- fen/MWh
    compensation  BIGINT NOT NULL, -- fen/MWh
    status        TEXT   NOT NULL, -- serde name, e.g. effective
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, id)
);

-- Responses remembered for Idempotency-Key headers; the first response for a key wins.
CREATE TABLE idempotency (
    participant_id BIGINT NOT NULL,
    key            TEXT   NOT NULL,
    status         BIGINT NOT NULL, -- HTTP status
    body           TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (participant_id, key)
);

-- Every read of sealed data, in the order it was logged.
CREATE TABLE access_log (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    participant_id BIGINT NOT NULL,
    at_ms          BIGINT NOT NULL,
    what           TEXT   NOT NULL
);
