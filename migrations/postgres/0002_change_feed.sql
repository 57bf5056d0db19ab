-- The change feed that keeps every replica's cache honest.
--
-- Any change that can turn an ALLOW into a deny (a token revoked, edited or deleted; a role's
-- permissions; a user's roles or disabled flag) bumps one revision counter and sends
-- NOTIFY tessera_changes in the same transaction, so the notice goes out exactly when the
-- change commits, whether it came through tessera or from a hand-written UPDATE.
--
-- Payloads: '<revision> t <token id>' for one token, '<revision> *' for anything wider.
-- The counter lets a replica that missed notices (its listener was down) see that it did:
-- it polls the revision and flushes its cache when the database is ahead of what it heard.
-- Updating the single row also orders the notices: writers queue on its row lock, so
-- revisions commit in increasing order.

CREATE TABLE change_revision (
    id       SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    revision BIGINT   NOT NULL
);
INSERT INTO change_revision (id, revision) VALUES (1, 0);

CREATE FUNCTION tessera_token_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rev BIGINT;
BEGIN
    UPDATE change_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO rev;
    PERFORM pg_notify('tessera_changes', rev || ' t ' || OLD.id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION tessera_grants_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rev BIGINT;
BEGIN
    UPDATE change_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO rev;
    PERFORM pg_notify('tessera_changes', rev || ' *');
    RETURN NULL;
END;
$$;

-- last_used_at is written behind on every use and changes no decision: it is left out.
CREATE TRIGGER tokens_changed
    AFTER UPDATE OF id, kind, subject, role, secret_hash, scopes, cap, read_only, expires_at,
        revoked_at OR DELETE ON tokens
    FOR EACH ROW EXECUTE FUNCTION tessera_token_changed();

CREATE TRIGGER roles_changed
    AFTER UPDATE OR DELETE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_grants_changed();

CREATE TRIGGER users_changed
    AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_grants_changed();

CREATE TRIGGER user_roles_changed
    AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_grants_changed();

-- TRUNCATE fires no row triggers: treat it as a change to everything.
CREATE TRIGGER tokens_truncated AFTER TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_grants_changed();
CREATE TRIGGER roles_truncated AFTER TRUNCATE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_grants_changed();
CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_grants_changed();
CREATE TRIGGER user_roles_truncated AFTER TRUNCATE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_grants_changed();
