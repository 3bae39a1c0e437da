-- Retail contracts (零售合同): a retailer's green demand agreements with its retail users, whole
-- MWh per month over a span of months at an agreed environmental price. The month close shares
-- each retailer's settled Q_env among them (market::retail). Append-only in practice: a contract
-- is registered once. migrations/postgres/0007_retail_contracts.sql is the PostgreSQL twin.
CREATE TABLE retail_contracts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    retailer      INTEGER NOT NULL REFERENCES participants (id),
    user_id       INTEGER NOT NULL REFERENCES participants (id),
    first_month   TEXT    NOT NULL,                              -- YYYY-MM
    last_month    TEXT    NOT NULL,                              -- YYYY-MM, not before first
    monthly_mwh   INTEGER NOT NULL CHECK (monthly_mwh > 0),      -- whole MWh of green demand
    env_price     INTEGER NOT NULL CHECK (env_price >= 0),       -- fen/MWh
    created_at_ms INTEGER NOT NULL,
    CHECK (first_month <= last_month)
) STRICT;
CREATE INDEX retail_contracts_user ON retail_contracts (user_id);
