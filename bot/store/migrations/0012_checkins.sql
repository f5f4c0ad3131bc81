-- Return visits (回访) after a decision (bot/casework/checkins.py): one row per check-in
-- due, written in the same transaction as the decision, one for each offset of
-- INTAKE_CHECKIN_DAYS. A check-in is queued in the outbox in the same transaction that
-- sets its sent_at, so a restart or two runs at once never send one twice or lose one.
-- The answer is a choice code (better, same, worse, talk), not personal data; the
-- applicant's own words go to the intake's conversation, sealed.
CREATE TABLE checkins (
    id          INTEGER PRIMARY KEY,
    intake_id   INTEGER NOT NULL REFERENCES intakes (id),
    due_at      TEXT NOT NULL,              -- UTC, ISO 8601
    sent_at     TEXT,
    answer      TEXT CHECK (answer IN ('better', 'same', 'worse', 'talk')),
    answered_at TEXT,
    stopped     INTEGER NOT NULL DEFAULT 0  -- 1: the applicant asked for no more
);
CREATE INDEX checkins_due ON checkins (due_at) WHERE sent_at IS NULL AND stopped = 0;
CREATE INDEX checkins_intake ON checkins (intake_id);

-- A check-in's message names it, so that its buttons answer that check-in only.
ALTER TABLE outbox ADD COLUMN checkin_id INTEGER;

-- The applicant's answer to a check-in (its choice, and the words or voice note they add)
-- is part of the intake's conversation, sealed like the rest. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with every row kept (as in 0008).
CREATE TABLE messages_new (
    id        INTEGER PRIMARY KEY,
    intake_id INTEGER NOT NULL REFERENCES intakes (id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    author    INTEGER,
    kind      TEXT NOT NULL CHECK (kind IN ('question', 'reply', 'note', 'correction',
                                            'checkin', 'checkin_note')),
    body      TEXT NOT NULL
);
INSERT INTO messages_new (id, intake_id, at, author, kind, body)
    SELECT id, intake_id, at, author, kind, body FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_by_intake ON messages (intake_id, id);
