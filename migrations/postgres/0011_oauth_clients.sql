-- OAuth 2 clients (the OAuth issue): the app registry, and which tokens each app was issued.

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

-- The app a token was issued to (OAuth access and refresh tokens), so deleting an app
-- revokes what it holds.
ALTER TABLE tokens ADD COLUMN client_id TEXT;
CREATE INDEX tokens_by_client ON tokens (client_id) WHERE client_id IS NOT NULL;
