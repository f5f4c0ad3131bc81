-- The inbox: every update Telegram delivers, committed before it is confirmed (polling) or
-- answered (webhook), then applied once, in order for its chat (bot/store/inbox.py).
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,       -- Telegram's update id: one row per update
    chat_key    INTEGER NOT NULL,          -- the chat's id, else the user's, else 0
    body        TEXT,                      -- the raw update, encrypted; NULL once done
    received_at TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0, -- starts that found it still pending
    error       TEXT,                      -- dead letters: the exception's type and message, encrypted
    done_at     TEXT
);
-- No index but the key: each update is inserted once and marked done once, on the hot path,
-- while the pending rows are read once at start and old rows pruned once an hour.
