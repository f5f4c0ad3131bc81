-- Flows edited in the chat: uploaded files waiting to be published, previews, settings.
CREATE TABLE flow_uploads (
    id          INTEGER PRIMARY KEY,
    admin_id    INTEGER NOT NULL,
    source      TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);

-- An admin trying an uploaded flow in the chat; nothing here is an intake.
CREATE TABLE previews (
    user_id        INTEGER PRIMARY KEY,
    upload_id      INTEGER NOT NULL REFERENCES flow_uploads (id) ON DELETE CASCADE,
    state          TEXT NOT NULL,
    last_update_id INTEGER NOT NULL DEFAULT 0,
    started_at     TEXT NOT NULL
);

-- Settings admins change in the chat (e.g. after how many idle days a draft expires).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    changed_by INTEGER,
    changed_at TEXT NOT NULL
);

CREATE INDEX intakes_drafts_idle ON intakes (status, updated_at);
