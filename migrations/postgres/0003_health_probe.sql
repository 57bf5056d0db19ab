-- The write-side health probe: each probe rewrites its row, so a database that takes no
-- writes (read-only after a failover, a full disk) turns health NOT_SERVING. No trigger:
-- it changes no decision and must not feed the change feed.
CREATE TABLE health_probe (
    id         TEXT   NOT NULL PRIMARY KEY,
    checked_at BIGINT NOT NULL
);
