-- Attachments and voice notes kept in our file store (bot/files.py): which intake holds
-- which file, and downloads still to do. The bytes themselves are in the store, sealed.
CREATE TABLE files (
    id          INTEGER PRIMARY KEY,
    intake_id   INTEGER NOT NULL,
    unique_id   TEXT NOT NULL,   -- Telegram's file_unique_id: how an answer names the file
    kind        TEXT NOT NULL,   -- photo, document, voice, audio, video
    step        TEXT,            -- the question it answers; NULL: an answer to a caseworker
    size        INTEGER,         -- bytes, as Telegram gave it
    duration    INTEGER,         -- seconds, for voice
    address     TEXT,            -- in the file store; NULL while the download waits
    source      TEXT,            -- Telegram's file_id, kept only until the download succeeds
    tries       INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT,
    transcript  BLOB,            -- a machine transcription of a voice note, sealed
    heard       INTEGER NOT NULL DEFAULT 0,  -- 1: the transcriber has had its try
    created_at  TEXT NOT NULL,
    UNIQUE (intake_id, unique_id)
);

CREATE INDEX files_address ON files (address);
CREATE INDEX files_waiting ON files (next_try_at) WHERE address IS NULL;
CREATE INDEX files_unheard ON files (id) WHERE kind = 'voice' AND heard = 0;

-- Files to erase from the store: queued in the transaction that erases the intake holding
-- them (/delete, retention, expiry), erased from disk just after it commits. A crash in
-- between leaves the address here, and the next run erases it.
CREATE TABLE files_erase (
    address   TEXT PRIMARY KEY,
    queued_at TEXT NOT NULL
);
