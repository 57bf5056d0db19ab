-- The write-side health probe: each probe rewrites its row, so a database that takes no
-- writes (a full or read-only disk) turns health NOT_SERVING. Number 3 on both backends;
-- SQLite has no migration 2 (Postgres's change feed).
CREATE TABLE health_probe (
    id         TEXT    NOT NULL PRIMARY KEY,
    checked_at INTEGER NOT NULL
);
