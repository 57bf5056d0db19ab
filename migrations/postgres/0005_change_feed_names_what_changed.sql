-- Role and user changes say what changed, so that each replica drops only the cache entries
-- that depend on it: '<revision> r <role name>' and '<revision> u <user id>', beside the
-- token notices of 0004. Until now any role or user change sent '*', and every replica
-- emptied its whole cache, so one role edit a second turned every cached check into a
-- store read.
--
-- Like the token triggers, these run once per statement over a transition table, send one
-- notice per changed key, and fall back to one '*' when a statement changed more than 100.
-- TRUNCATE keeps its '*' (0002).

CREATE FUNCTION tessera_notify_keys(kind TEXT, keys TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    rev BIGINT;
    k TEXT;
BEGIN
    IF keys IS NULL OR cardinality(keys) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(keys) > 100 THEN
        PERFORM tessera_notify_everything();
        RETURN;
    END IF;
    UPDATE change_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO rev;
    FOREACH k IN ARRAY keys LOOP
        PERFORM pg_notify('tessera_changes', rev || ' ' || kind || ' ' || k);
    END LOOP;
END;
$$;

-- The token notices of 0004, through the same function.
CREATE OR REPLACE FUNCTION tessera_notify_tokens(ids TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tessera_notify_keys('t', ids);
END;
$$;

DROP TRIGGER roles_changed ON roles;
DROP TRIGGER users_changed ON users;
DROP TRIGGER user_roles_changed ON user_roles;

-- Transition tables allow one event per trigger, so each event has its own trigger; one
-- function serves them all, told by its arguments which notice kind and which key column:
-- an INSERT names the new rows' keys, a DELETE the old rows', an UPDATE both (a rename
-- changes the key).
CREATE FUNCTION tessera_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys TEXT[];
BEGIN
    EXECUTE format(CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT ARRAY(SELECT DISTINCT %1$I FROM new_rows)'
        WHEN 'DELETE' THEN 'SELECT ARRAY(SELECT DISTINCT %1$I FROM old_rows)'
        ELSE 'SELECT ARRAY(SELECT %1$I FROM old_rows UNION SELECT %1$I FROM new_rows)'
    END, TG_ARGV[1]) INTO keys;
    PERFORM tessera_notify_keys(TG_ARGV[0], keys);
    RETURN NULL;
END;
$$;

-- A role created under a name that was deleted by hand reaches PATs still bound to it.
CREATE TRIGGER roles_inserted AFTER INSERT ON roles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('r', 'name');
CREATE TRIGGER roles_updated AFTER UPDATE ON roles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('r', 'name');
CREATE TRIGGER roles_deleted AFTER DELETE ON roles
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('r', 'name');

CREATE TRIGGER users_updated AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('u', 'id');
CREATE TRIGGER users_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('u', 'id');

-- A user's roles: every change names the user.
CREATE TRIGGER user_roles_added AFTER INSERT ON user_roles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('u', 'user_id');
CREATE TRIGGER user_roles_updated AFTER UPDATE ON user_roles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('u', 'user_id');
CREATE TRIGGER user_roles_removed AFTER DELETE ON user_roles
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('u', 'user_id');
