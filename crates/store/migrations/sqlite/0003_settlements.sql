-- Settlement runs. A final run of a month is recorded once and never reopened; drafts are not
-- stored (they are recomputed on demand from the latest meter data).
CREATE TABLE final_settlements (
    month         TEXT    PRIMARY KEY, -- YYYY-MM
    created_at_ms INTEGER NOT NULL,
    result        TEXT    NOT NULL      -- the settlement's JSON, as answered
) STRICT;
