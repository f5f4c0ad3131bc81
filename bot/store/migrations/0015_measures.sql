-- One household, one plan (一户一策): the help measures decided for an intake, each with the
-- body responsible for it and a due date, tracked to done (bot/casework/plans.py).
-- ``kind`` is the value of one of the flow's needs (the choices of its step tagged
-- ``needs``), or NULL with the caseworker's own words in ``kind_text`` (sealed).
-- ``partner_id`` is the registered partner responsible; NULL: the procuratorate itself.
-- ``due_on`` is a plan's deadline (a date, like a check-in's due time, kept in the clear
-- to count overdue measures); ``reason`` says why a measure was not possible (sealed).
-- Every change is an audit row (measure.added, measure.accepted, ...) on the intake.
CREATE TABLE measures (
    id         INTEGER PRIMARY KEY,
    intake_id  INTEGER NOT NULL REFERENCES intakes (id),
    kind       TEXT,
    kind_text  BLOB,
    partner_id INTEGER,
    due_on     TEXT NOT NULL,             -- YYYY-MM-DD
    state      TEXT NOT NULL DEFAULT 'proposed'
               CHECK (state IN ('proposed', 'accepted', 'in_progress', 'done', 'not_possible')),
    reason     BLOB,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT,                      -- when its partner was sent it (NULL: not yet)
    updated_at TEXT NOT NULL,
    closed_at  TEXT                       -- done or not possible
);
CREATE INDEX measures_by_intake ON measures (intake_id, id);
CREATE INDEX measures_by_partner ON measures (partner_id, state);

-- What kind of body a partner is (agriculture, human resources, civil affairs, ...):
-- a code from bot/casework/plans.py, counted by /stats and the export.
ALTER TABLE roles ADD COLUMN kind TEXT;
