-- User names are unique regardless of case: "Alice" and "alice" are one name, as people
-- read them (user names are ASCII, so lower() folds them the same on both backends).
--
-- Names that already collide keep the oldest user's spelling; each later one is renamed
-- to "<name>~<id>", which no new name can be ("~" is outside the user-name alphabet), so
-- the migration never fails on an existing database and nothing is lost.
UPDATE users SET name = name || '~' || id
WHERE EXISTS (
    SELECT 1 FROM users AS earlier
    WHERE lower(earlier.name) = lower(users.name)
      AND (earlier.created_at < users.created_at
           OR (earlier.created_at = users.created_at AND earlier.id < users.id))
);
CREATE UNIQUE INDEX users_by_folded_name ON users (lower(name));
