-- Why a measure was not possible, as the household reads it (bot/casework/plans.py): the
-- partner is now asked to write the reason in words the family understands, and the
-- applicant reads it in the notice and in /status, as they read a decline's reason.
-- ``reason_shown`` is 1 for a reason written so; reasons written before (for the
-- procuratorate only) stay 0 and are shown to staff only (and, like everything held, in
-- the applicant's /mydata copy).
ALTER TABLE measures ADD COLUMN reason_shown INTEGER NOT NULL DEFAULT 0;
