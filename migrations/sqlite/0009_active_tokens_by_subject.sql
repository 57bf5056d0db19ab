-- Active tokens per user (--max-tokens-per-user): Issue counts the subject's unrevoked
-- tokens before it inserts. This partial index holds only those, so a user's revoked
-- history, however long, costs the count nothing.
CREATE INDEX tokens_live_by_subject ON tokens (subject) WHERE revoked_at IS NULL;
