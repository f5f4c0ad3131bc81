-- A caseworker's decision that a second person must approve (INTAKE_APPROVAL): kept as a
-- proposal beside the intake, which stays in review until a supervisor confirms it (the
-- decision is then made) or returns it with a note. The reason and the note are sealed
-- like every text staff type. At most one proposal of an intake waits at a time.
CREATE TABLE proposals (
    id          INTEGER PRIMARY KEY,
    intake_id   INTEGER NOT NULL REFERENCES intakes (id),
    kind        TEXT NOT NULL CHECK (kind IN ('approve', 'decline')),
    amount_fen  INTEGER,
    reason      BLOB,
    proposed_by INTEGER NOT NULL,
    proposed_at TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'confirmed', 'returned')),
    settled_by  INTEGER,
    settled_at  TEXT,
    note        BLOB
);
CREATE UNIQUE INDEX proposals_one_pending ON proposals (intake_id) WHERE state = 'pending';

-- A notice about a proposal (to a supervisor) names it, so that its buttons act on that
-- proposal only: a later proposal on the same intake is not confirmed by an old message.
ALTER TABLE outbox ADD COLUMN proposal_id INTEGER;
