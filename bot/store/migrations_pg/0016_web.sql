-- The web chat (web_channel/), as migrations/0016_web.sql: a web applicant's resume code
-- hash, their sessions (cookie hashes), and the channel each intake came in by.
CREATE TABLE IF NOT EXISTS web_people (
    user_id    BIGINT PRIMARY KEY,
    code_hash  TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_by_user ON web_sessions (user_id);

ALTER TABLE intakes ADD COLUMN channel TEXT;
