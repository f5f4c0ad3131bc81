-- As migrations/0017_measure_reasons.sql: whether a measure's "not possible" reason was
-- written for the household to read.
ALTER TABLE measures ADD COLUMN reason_shown INTEGER NOT NULL DEFAULT 0;
