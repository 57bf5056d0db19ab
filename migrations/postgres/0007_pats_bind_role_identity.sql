-- PATs bind to a role's identity, not its name. Until now a PAT named its role, and a role
-- deleted and re-created under the same name granted the new role's permissions to every
-- PAT of the old one that escaped the deletion (one issued while the role was deleted).
-- Each role now has a server-made id that is never reused, and a PAT stores the id of the
-- role it was issued against: a re-created role is a different role.
ALTER TABLE roles ADD COLUMN id TEXT;
UPDATE roles SET id = 'rol_' || md5(random()::text || clock_timestamp()::text || name);
ALTER TABLE roles ALTER COLUMN id SET NOT NULL;
ALTER TABLE roles ADD CONSTRAINT roles_id_unique UNIQUE (id);

-- Not a foreign key, as `role` was not: a deleted role leaves its PATs (revoked with it)
-- pointing at an id no role has, so they grant nothing.
ALTER TABLE tokens ADD COLUMN role_id TEXT;
UPDATE tokens SET role_id = (SELECT id FROM roles WHERE roles.name = tokens.role)
    WHERE kind = 'pat';
