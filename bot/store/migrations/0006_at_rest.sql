-- Personal data encrypted at rest (bot/crypto.py). The engine state, conversation, clues,
-- referral texts, decision reasons and pending data become sealed BLOBs in their columns
-- (rewritten once by Store.open, not here: SQL has no key). Statistics read the answers a
-- flow marks as plain (choice codes of steps tagged stats) from this column instead of
-- the state; it is written when an intake is sent.
ALTER TABLE intakes ADD COLUMN plain_answers TEXT;  -- JSON: step id -> choice code(s)

-- People whose data was erased, by a keyed hash of their Telegram id (never the id itself):
-- the newest update applied for them, so that an update delivered again is still known as
-- applied. Kept two days (Telegram delivers an update again for one), then deleted.
CREATE TABLE erased (
    tag            BLOB PRIMARY KEY,      -- HMAC-SHA256 of the id, key derived from the data key
    last_update_id INTEGER NOT NULL,
    erased_at      TEXT NOT NULL
);
