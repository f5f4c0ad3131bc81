-- An applicant's request to correct a sent application (/correct) is an entry of the
-- conversation of its own kind, sealed like the others. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with every row kept (nothing refers to it).
CREATE TABLE messages_new (
    id        INTEGER PRIMARY KEY,
    intake_id INTEGER NOT NULL REFERENCES intakes (id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    author    INTEGER,
    kind      TEXT NOT NULL CHECK (kind IN ('question', 'reply', 'note', 'correction')),
    body      TEXT NOT NULL
);
INSERT INTO messages_new (id, intake_id, at, author, kind, body)
    SELECT id, intake_id, at, author, kind, body FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_by_intake ON messages (intake_id, id);
