-- As migrations/0018_applied.sql: one row per applied update, per person.
CREATE TABLE applied (
    user_id    BIGINT NOT NULL,
    update_id  BIGINT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (user_id, update_id)
);
CREATE INDEX applied_at ON applied (applied_at);

-- As migrations/0018_applied.sql: until when a sender holds a notification it took.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
