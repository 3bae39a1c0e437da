-- Retail contracts (零售合同): a retailer's green demand agreements with its retail users, whole
-- MWh per month over a span of months at an agreed environmental price. The month close shares
-- each retailer's settled Q_env among them (market::retail). Append-only in practice: a contract
-- is registered once. migrations/sqlite/0007_retail_contracts.sql is the SQLite twin.
CREATE TABLE retail_contracts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    retailer      BIGINT NOT NULL REFERENCES participants (id),
    user_id       BIGINT NOT NULL REFERENCES participants (id),
    first_month   TEXT   NOT NULL,                               -- YYYY-MM
    last_month    TEXT   NOT NULL,                               -- YYYY-MM, not before first
    monthly_mwh   BIGINT NOT NULL CHECK (monthly_mwh > 0),       -- whole MWh of green demand
    env_price     BIGINT NOT NULL CHECK (env_price >= 0),        -- fen/MWh
    created_at_ms BIGINT NOT NULL,
    CHECK (first_month <= last_month)
);
CREATE INDEX retail_contracts_user ON retail_contracts (user_id);
