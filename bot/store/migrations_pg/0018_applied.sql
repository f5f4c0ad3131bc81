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

-- Several instances: a chat's update waits for its chat's older pending ones
-- (telegram_channel/shared.py); pending rows are few, so the index is small.
CREATE INDEX inbox_pending ON inbox (chat_key, update_id) WHERE state = 'pending';
