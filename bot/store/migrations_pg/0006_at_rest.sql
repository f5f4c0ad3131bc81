-- Personal data encrypted at rest (SQLite's 0006). The sealed columns are BYTEA since
-- their tables were made; what is left is the plain answers and the erased people's tags.
ALTER TABLE intakes ADD COLUMN plain_answers TEXT;

CREATE TABLE erased (
    tag            BYTEA PRIMARY KEY,
    last_update_id BIGINT NOT NULL,
    erased_at      TEXT NOT NULL
);
