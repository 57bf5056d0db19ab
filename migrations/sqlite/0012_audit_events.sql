-- The audit trail (issue 17): one row per change, inserted by the change's own
-- transaction. Ids, names and counts only: never a secret, a hash or a code.
CREATE TABLE audit_events (
    seq            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    action         TEXT    NOT NULL,
    result         TEXT    NOT NULL CHECK (result IN ('success', 'failure')),
    actor_token_id TEXT    NOT NULL,
    actor_subject  TEXT    NOT NULL,
    actor_kind     TEXT    NOT NULL,
    peer           TEXT    NOT NULL,
    request_id     TEXT    NOT NULL,
    target_type    TEXT    NOT NULL,
    target_id      TEXT    NOT NULL,
    -- a JSON object of strings
    fields         TEXT    NOT NULL
);

-- Retention deletes by age; listings filter by who acted (or was acted on) and by action,
-- newest first.
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor_subject, seq);
CREATE INDEX audit_events_target ON audit_events (target_id, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);
