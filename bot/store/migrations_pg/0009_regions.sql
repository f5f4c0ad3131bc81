-- Casework by jurisdiction (SQLite's 0009): the supervisor role, roles' regions, and the
-- region of an intake.
ALTER TABLE roles DROP CONSTRAINT roles_role_check;
ALTER TABLE roles ADD CONSTRAINT roles_role_check
    CHECK (role IN ('caseworker', 'supervisor', 'partner', 'admin'));

CREATE TABLE role_regions (
    user_id BIGINT NOT NULL,
    role    TEXT NOT NULL,
    prefix  TEXT NOT NULL CHECK (length(prefix) IN (2, 4, 6) AND prefix ~ '^[0-9]+$'),
    PRIMARY KEY (user_id, role, prefix),
    FOREIGN KEY (user_id, role) REFERENCES roles (user_id, role) ON DELETE CASCADE
);

ALTER TABLE intakes ADD COLUMN region TEXT;
CREATE INDEX intakes_by_region ON intakes (region, status);
