-- What a queued notice is about, so the channel that delivers it draws its buttons
-- (bot/casework/notices.py): its kind, the intake and referral it names, and the reader's
-- language for the labels. Rows queued by earlier versions have none of these and keep
-- the buttons they were stored with.
ALTER TABLE outbox ADD COLUMN kind TEXT;
ALTER TABLE outbox ADD COLUMN intake_id INTEGER;
ALTER TABLE outbox ADD COLUMN referral_id INTEGER;
ALTER TABLE outbox ADD COLUMN lang TEXT;
