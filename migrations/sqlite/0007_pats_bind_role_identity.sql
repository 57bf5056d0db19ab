-- PATs bind to a role's identity, not its name. Until now a PAT named its role, and a role
-- deleted and re-created under the same name granted the new role's permissions to every
-- PAT of the old one that escaped the deletion (one issued while the role was deleted).
-- Each role now has a server-made id that is never reused, and a PAT stores the id of the
-- role it was issued against: a re-created role is a different role.
ALTER TABLE roles ADD COLUMN id TEXT;
UPDATE roles SET id = 'rol_' || lower(hex(randomblob(15)));
CREATE UNIQUE INDEX roles_by_id ON roles (id);

-- Not a foreign key, as `role` was not: a deleted role leaves its PATs (revoked with it)
-- pointing at an id no role has, so they grant nothing.
ALTER TABLE tokens ADD COLUMN role_id TEXT;
UPDATE tokens SET role_id = (SELECT id FROM roles WHERE roles.name = tokens.role)
    WHERE kind = 'pat';
