-- As migrations/0019_instances.sql: the running instances and their heartbeats, the
-- instance holding each inbox row, and the bot's shared send pace (database clock).
CREATE TABLE instances (
    id      TEXT PRIMARY KEY,
    seen_at DOUBLE PRECISION NOT NULL
);
ALTER TABLE inbox ADD COLUMN owner TEXT;
CREATE TABLE send_pace (
    key     TEXT PRIMARY KEY,
    next_at DOUBLE PRECISION NOT NULL
);
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
