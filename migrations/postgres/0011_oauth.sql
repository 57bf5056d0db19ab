-- OAuth 2 (the OAuth issue): the app registry, authorization codes, grants (one per
-- authorization: the family of every token issued from it), and the tokens issued to apps.

CREATE TABLE oauth_clients (
    id                    TEXT    NOT NULL PRIMARY KEY,
    name                  TEXT    NOT NULL,
    client_type           TEXT    NOT NULL CHECK (client_type IN ('public', 'confidential')),
    -- exact strings, one per line (a redirect URI holds no whitespace)
    redirect_uris         TEXT    NOT NULL,
    -- the most the app may be granted, in tessera's stored permission-set form
    scopes                TEXT    NOT NULL,
    -- space-separated grant_type names
    grant_types           TEXT    NOT NULL,
    disabled              BOOLEAN NOT NULL DEFAULT FALSE,
    created_at            BIGINT  NOT NULL,
    -- a confidential client's secret, hashed like a token's; NULL for a public client
    secret_hash           BYTEA,
    -- the secret a rotation replaced, accepted until previous_secret_until
    previous_secret_hash  BYTEA,
    previous_secret_until BIGINT
);

-- One authorization of an app by a user: what was granted, and until when its refresh
-- tokens may be renewed (the family's lifetime). Revoking it revokes its tokens.
CREATE TABLE oauth_grants (
    id           TEXT   NOT NULL PRIMARY KEY,
    client_id    TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    scopes       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX oauth_grants_by_subject ON oauth_grants (subject, id);
CREATE INDEX oauth_grants_by_client ON oauth_grants (client_id, id);

-- Authorization codes, by the hash of the code (never the code), single use: used_at is set
-- by the exchange, which records the grant it made so that a second use revokes it.
CREATE TABLE oauth_codes (
    code_hash      BYTEA  NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    -- the PKCE S256 challenge, when one was sent
    code_challenge TEXT,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used_at        BIGINT,
    grant_id       TEXT
);

-- Tokens name the app they were issued to and the grant they came from. An app's own token
-- (client credentials) has the client as its subject, not a user: the foreign key from
-- subject to users goes (the check path already treats an owner it cannot find as
-- inactive).
ALTER TABLE tokens
    ADD COLUMN client_id TEXT,
    ADD COLUMN grant_id TEXT;
ALTER TABLE tokens DROP CONSTRAINT tokens_subject_fkey;
CREATE INDEX tokens_by_client ON tokens (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX tokens_by_grant ON tokens (grant_id) WHERE grant_id IS NOT NULL;

-- Other replicas drop what they cached about an app's tokens when the app changes:
-- '<revision> c <client id>' (see 0005).
CREATE TRIGGER oauth_clients_updated AFTER UPDATE ON oauth_clients
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('c', 'id');
CREATE TRIGGER oauth_clients_deleted AFTER DELETE ON oauth_clients
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_keys_changed('c', 'id');
