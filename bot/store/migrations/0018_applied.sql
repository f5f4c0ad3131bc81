-- Which updates were applied, one row per update (bot/store/intakes.py, ``record_applied``):
-- the duplicate check works per update, not by the newest id seen, so an update another
-- instance applies out of order (issue 27) is still applied, and a repeated one only once.
-- Keyed by the person too: the web chat numbers each person's inputs on its own. Rows go
-- with the person's erasure and are pruned with the inbox's done rows (KEEP_DONE days).
CREATE TABLE applied (
    user_id    INTEGER NOT NULL,
    update_id  INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (user_id, update_id)
);
CREATE INDEX applied_at ON applied (applied_at);

-- A notification taken for sending (bot/store/outbox.py, ``claim``): until when the sender
-- that took it holds it. With several instances on one PostgreSQL database each message
-- is taken by one; a dead sender's claims lapse, and a single instance drops them at start.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
