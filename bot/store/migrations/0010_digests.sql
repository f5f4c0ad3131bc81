-- The morning digest of deadlines (bot/casework/digest.py): which person was sent the
-- digest of which day (the deployment's local date), written in the same transaction as
-- the digest's outbox row, so that a restart or two runs at once never send one twice.
CREATE TABLE digests (
    user_id INTEGER NOT NULL,
    day     TEXT NOT NULL,                  -- YYYY-MM-DD in INTAKE_TIMEZONE
    sent_at TEXT NOT NULL,
    PRIMARY KEY (user_id, day)
);

-- A notice that names several intakes (a digest's list): their ids and references, as
-- JSON [[id, "ABC-DEF"], ...], from which the channel draws one Open button each.
ALTER TABLE outbox ADD COLUMN opens TEXT;
