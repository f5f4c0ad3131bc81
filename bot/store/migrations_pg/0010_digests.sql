-- The morning digest of deadlines (SQLite's 0010).
CREATE TABLE digests (
    user_id BIGINT NOT NULL,
    day     TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (user_id, day)
);

ALTER TABLE outbox ADD COLUMN opens TEXT;
