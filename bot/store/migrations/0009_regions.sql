-- Casework by jurisdiction: staff roles carry regions (GB/T 2260 division codes or their
-- 2- and 4-digit prefixes; no row: every region, as every role granted before), intakes
-- the region they were routed to, and a supervisor role joins. SQLite cannot change a
-- CHECK constraint in place, so the roles table is rebuilt with every row kept.
CREATE TABLE roles_new (
    user_id    INTEGER NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('caseworker', 'supervisor', 'partner', 'admin')),
    label      TEXT,                       -- a partner's department or region, a caseworker's name
    granted_by INTEGER,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
INSERT INTO roles_new (user_id, role, label, granted_by, granted_at)
    SELECT user_id, role, label, granted_by, granted_at FROM roles;
DROP TABLE roles;
ALTER TABLE roles_new RENAME TO roles;

CREATE TABLE role_regions (
    user_id INTEGER NOT NULL,
    role    TEXT NOT NULL,
    prefix  TEXT NOT NULL CHECK (length(prefix) IN (2, 4, 6) AND prefix NOT GLOB '*[^0-9]*'),
    PRIMARY KEY (user_id, role, prefix),
    FOREIGN KEY (user_id, role) REFERENCES roles (user_id, role) ON DELETE CASCADE
);

-- The division code of the region an intake belongs to; NULL until it is sent. Intakes
-- sent before this change are given the default region (INTAKE_DEFAULT_REGION) at start.
ALTER TABLE intakes ADD COLUMN region TEXT;
CREATE INDEX intakes_by_region ON intakes (region, status);
