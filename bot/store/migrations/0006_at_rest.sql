-- Personal data encrypted at rest (bot/crypto.py). The engine state, conversation, clues,
-- referral texts, decision reasons and pending data become sealed BLOBs in their columns
-- (rewritten once by Store.open, not here: SQL has no key). Statistics read the answers a
-- flow marks as plain (choice codes of steps tagged stats) from this column instead of
-- the state; it is written when an intake is sent.
ALTER TABLE intakes ADD COLUMN plain_answers TEXT;  -- JSON: step id -> choice code(s)
