-- The web chat (web_channel/): applicants without Telegram. A web applicant is a person
-- like any other (``users``), under an id above every Telegram id (bot/channels.py); their
-- row here holds the hash of the resume code that brings them back on another phone (the
-- code itself is never stored). A session is a random cookie, kept as its hash, that
-- names the person it was opened for. Intakes record the channel they came in by.
CREATE TABLE IF NOT EXISTS web_people (
    user_id    INTEGER PRIMARY KEY,
    code_hash  TEXT NOT NULL UNIQUE,   -- scrypt of the resume code (bot/webchat.py)
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY,       -- SHA-256 of the session cookie
    user_id    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_by_user ON web_sessions (user_id);

ALTER TABLE intakes ADD COLUMN channel TEXT;  -- 'web' for the web chat; NULL: Telegram
