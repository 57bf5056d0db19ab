-- The token change feed, once per statement instead of once per row.
--
-- The row trigger of 0002 updated the single change_revision row once per changed token, in
-- the changing transaction: revoking a subject's 20,000 tokens made 20,000 versions of that
-- row, each update walking the versions before it (quadratic), while holding its lock, so
-- the revocation hit the statement timeout above about 18,000 tokens and every other writer
-- queued behind it. These statement triggers see the changed rows in a transition table,
-- bump the revision once, and send one notice per token, or one '*' notice (flush
-- everything) when a statement changed more than 100 tokens, without comparing them: a
-- wide UPDATE is rare, and flushing a cache is always safe.
--
-- Transition tables allow neither a column list nor two events per trigger, so UPDATE and
-- DELETE have a trigger each, and the UPDATE one compares the columns a decision depends
-- on itself: last_used_at, written behind on every use, changes none and sends nothing.

DROP TRIGGER tokens_changed ON tokens;
DROP FUNCTION tessera_token_changed();

CREATE FUNCTION tessera_notify_everything() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    rev BIGINT;
BEGIN
    UPDATE change_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO rev;
    PERFORM pg_notify('tessera_changes', rev || ' *');
END;
$$;

CREATE FUNCTION tessera_notify_tokens(ids TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    rev BIGINT;
    tid TEXT;
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(ids) > 100 THEN
        PERFORM tessera_notify_everything();
        RETURN;
    END IF;
    UPDATE change_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO rev;
    FOREACH tid IN ARRAY ids LOOP
        PERFORM pg_notify('tessera_changes', rev || ' t ' || tid);
    END LOOP;
END;
$$;

-- A wide UPDATE flushes everything without comparing its rows (the comparison is most of
-- what a 50,000-row trigger costs); the usage flush writes one row per statement.
CREATE FUNCTION tessera_tokens_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM new_rows) > 100 THEN
        PERFORM tessera_notify_everything();
        RETURN NULL;
    END IF;
    PERFORM tessera_notify_tokens(ARRAY(
        SELECT o.id FROM old_rows o JOIN new_rows n ON n.seq = o.seq
        WHERE (o.id, o.kind, o.subject, o.role, o.secret_hash, o.scopes, o.cap, o.read_only,
               o.expires_at, o.revoked_at)
              IS DISTINCT FROM
              (n.id, n.kind, n.subject, n.role, n.secret_hash, n.scopes, n.cap, n.read_only,
               n.expires_at, n.revoked_at)
    ));
    RETURN NULL;
END;
$$;

CREATE FUNCTION tessera_tokens_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tessera_notify_tokens(ARRAY(SELECT id FROM old_rows));
    RETURN NULL;
END;
$$;

CREATE TRIGGER tokens_updated AFTER UPDATE ON tokens
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_tokens_updated();

CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_tokens_deleted();
