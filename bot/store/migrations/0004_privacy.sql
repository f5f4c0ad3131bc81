-- Consent records, deletion requests and anonymisation (PIPL: consent, erasure, retention).
CREATE TABLE consents (
    id           INTEGER PRIMARY KEY,
    intake_id    INTEGER NOT NULL REFERENCES intakes (id) ON DELETE CASCADE,
    applicant_id INTEGER NOT NULL,         -- who agreed (the Telegram user answering)
    step_id      TEXT NOT NULL,            -- which consent: general, sensitive, guardian's
    text_sha256  TEXT NOT NULL,            -- the consent text agreed to (all its languages)
    lang         TEXT NOT NULL,            -- the language it was read in
    agreed_at    TEXT NOT NULL
);
CREATE INDEX consents_by_intake ON consents (intake_id);

ALTER TABLE intakes ADD COLUMN deletion_requested_at TEXT;
ALTER TABLE intakes ADD COLUMN anonymised_at TEXT;
