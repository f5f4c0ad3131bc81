-- A request to correct a sent application is an entry of the conversation (SQLite's 0008):
-- PostgreSQL changes the CHECK in place.
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('question', 'reply', 'note', 'correction'));
