-- Derived tokens follow their source: revoking a token walks created_by down to every token
-- it minted, and theirs, in the revoking statement. This index makes each step of that walk
-- a lookup instead of a scan of every token.
CREATE INDEX tokens_by_parent ON tokens (created_by);
