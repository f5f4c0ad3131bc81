-- What a queued notice is about (SQLite's 0007).
ALTER TABLE outbox ADD COLUMN kind TEXT;
ALTER TABLE outbox ADD COLUMN intake_id BIGINT;
ALTER TABLE outbox ADD COLUMN referral_id BIGINT;
ALTER TABLE outbox ADD COLUMN lang TEXT;
