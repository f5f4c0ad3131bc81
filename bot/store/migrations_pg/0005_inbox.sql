-- The inbox: every update Telegram delivers, applied once, in order (SQLite's 0005).
CREATE TABLE inbox (
    update_id   BIGINT PRIMARY KEY,
    chat_key    BIGINT NOT NULL,
    body        BYTEA,
    received_at TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'done', 'dead')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    error       BYTEA,
    done_at     TEXT
);
