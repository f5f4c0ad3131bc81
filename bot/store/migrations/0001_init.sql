-- Flows, intakes, the audit trail and the people the bot knows.
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE flows (
    flow_id      TEXT NOT NULL,
    version      INTEGER NOT NULL,
    source       TEXT NOT NULL,            -- the YAML exactly as published
    published_at TEXT NOT NULL,
    published_by INTEGER,                  -- Telegram user id; NULL from the command line
    is_current   INTEGER NOT NULL DEFAULT 0,  -- the version of this id that new intakes use
    made_current_at TEXT,
    current_seq  INTEGER NOT NULL DEFAULT 0,  -- grows each time a version is made current:
                                           -- the current flow with the highest is the active one
    PRIMARY KEY (flow_id, version)
);
CREATE UNIQUE INDEX flows_one_current ON flows (flow_id) WHERE is_current = 1;

CREATE TABLE users (
    user_id        INTEGER PRIMARY KEY,    -- Telegram user id
    lang           TEXT,                   -- chosen with /language; wins over Telegram's
    created_at     TEXT NOT NULL,
    last_update_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE intakes (
    id             INTEGER PRIMARY KEY,
    ref            TEXT UNIQUE,            -- short reference people quote; set on submit
    flow_id        TEXT NOT NULL,
    flow_version   INTEGER NOT NULL,
    applicant_id   INTEGER NOT NULL,       -- Telegram user id of who answers
    chat_id        INTEGER NOT NULL,
    lang           TEXT NOT NULL,          -- language the interview runs in
    status         TEXT NOT NULL CHECK (status IN (
                       'draft', 'submitted', 'in_review', 'awaiting_applicant',
                       'approved', 'declined', 'withdrawn', 'expired')),
    state          TEXT NOT NULL,          -- engine state as JSON: answers, current step, path
    current_step   TEXT,
    screening      TEXT,                   -- eligibility/exclusion/priority as JSON, on submit
    priority       INTEGER NOT NULL DEFAULT 0,
    is_test        INTEGER NOT NULL DEFAULT 0,
    last_update_id INTEGER NOT NULL DEFAULT 0,  -- newest Telegram update applied: duplicates are dropped
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    submitted_at   TEXT,
    FOREIGN KEY (flow_id, flow_version) REFERENCES flows (flow_id, version)
);
CREATE UNIQUE INDEX intakes_one_draft ON intakes (applicant_id) WHERE status = 'draft';
CREATE INDEX intakes_by_applicant ON intakes (applicant_id, id);
CREATE INDEX intakes_queue ON intakes (status, priority DESC, submitted_at);

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     INTEGER,                     -- Telegram user id; NULL for the system
    action    TEXT NOT NULL,
    intake_id INTEGER REFERENCES intakes (id) ON DELETE SET NULL,
    detail    TEXT                         -- JSON; never answers or personal data
);
CREATE INDEX audit_by_intake ON audit (intake_id, id);
