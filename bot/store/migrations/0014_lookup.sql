-- Finding an intake by what people say on the phone without keeping it in the clear: a
-- keyed blind index (bot/lookup.py, Cipher.blind). Each row is one normalised name, phone
-- number, its last 4 digits or ID number of a sent intake, as a keyed hash (HMAC) that
-- only the bot's key can make again; the value itself is only in the sealed state.
-- Rows go with the intake's personal data (erasure, anonymisation) and are made again
-- when its answers are corrected.
CREATE TABLE IF NOT EXISTS lookup (
    intake_id INTEGER NOT NULL REFERENCES intakes (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('name', 'phone', 'phone4', 'id')),
    digest    BLOB NOT NULL,
    PRIMARY KEY (intake_id, kind, digest)
);
CREATE INDEX IF NOT EXISTS lookup_by_digest ON lookup (digest);

-- A caseworker's filtered list or search results, so that a page button carries only
-- this row's id and a page number (never the filter or what was searched for). The
-- spec is sealed; rows are kept a day.
CREATE TABLE IF NOT EXISTS listings (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    spec       BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS listings_by_user ON listings (user_id, id);
