-- Roles, the review of intakes, referrals to the agriculture department, and the outbox.
CREATE TABLE roles (
    user_id    INTEGER NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('caseworker', 'partner', 'admin')),
    label      TEXT,                       -- a partner's department or region, a caseworker's name
    granted_by INTEGER,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

ALTER TABLE users ADD COLUMN tg_lang TEXT;        -- Telegram's language_code, last seen
ALTER TABLE users ADD COLUMN display_name TEXT;   -- staff only: how colleagues see them

ALTER TABLE intakes ADD COLUMN assignee INTEGER;          -- the caseworker who claimed it
ALTER TABLE intakes ADD COLUMN is_clue INTEGER NOT NULL DEFAULT 0;  -- sent by a partner, not an applicant
ALTER TABLE intakes ADD COLUMN clue TEXT;                 -- JSON: who, where, what happened
ALTER TABLE intakes ADD COLUMN decided_at TEXT;
ALTER TABLE intakes ADD COLUMN amount_fen INTEGER;        -- approved amount, in fen (1/100 yuan)
ALTER TABLE intakes ADD COLUMN decision_reason TEXT;      -- a reason code or the caseworker's words
CREATE INDEX intakes_by_assignee ON intakes (assignee, status);

-- The conversation on an intake: caseworkers' questions, applicants' replies, internal notes.
CREATE TABLE messages (
    id        INTEGER PRIMARY KEY,
    intake_id INTEGER NOT NULL REFERENCES intakes (id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    author    INTEGER,
    kind      TEXT NOT NULL CHECK (kind IN ('question', 'reply', 'note')),
    body      TEXT NOT NULL
);
CREATE INDEX messages_by_intake ON messages (intake_id, id);

-- Clue transfers (线索移送) to the agriculture department's liaison.
CREATE TABLE referrals (
    id         INTEGER PRIMARY KEY,
    intake_id  INTEGER NOT NULL REFERENCES intakes (id) ON DELETE CASCADE,
    partner_id INTEGER NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('sent', 'acknowledged', 'done', 'returned')),
    request    TEXT NOT NULL DEFAULT '',   -- what the caseworker asks for
    outcome    TEXT,                       -- what was done, or why it was returned
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX referrals_by_intake ON referrals (intake_id);
CREATE INDEX referrals_by_partner ON referrals (partner_id, status);

-- A typed answer the bot is waiting for from someone (an amount, a reason, a reply).
CREATE TABLE pending (
    user_id    INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    intake_id  INTEGER,
    ref_id     INTEGER,                    -- e.g. the referral it is about
    data       TEXT,                       -- JSON: what was collected so far
    created_at TEXT NOT NULL
);

-- Messages that must reach someone later; a sender delivers them with retries.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    text       TEXT NOT NULL,
    buttons    TEXT,                       -- JSON rows of [label, callback data]
    created_at TEXT NOT NULL,
    next_at    TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_at);
