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
    created_at            INTEGER  NOT NULL,
    -- a confidential client's secret, hashed like a token's; NULL for a public client
    secret_hash           BLOB,
    -- the secret a rotation replaced, accepted until previous_secret_until
    previous_secret_hash  BLOB,
    previous_secret_until INTEGER
);

-- One authorization of an app by a user: what was granted, and until when its refresh
-- tokens may be renewed (the family's lifetime). Revoking it revokes its tokens.
CREATE TABLE oauth_grants (
    id           TEXT   NOT NULL PRIMARY KEY,
    client_id    TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    scopes       TEXT   NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX oauth_grants_by_subject ON oauth_grants (subject, id);
CREATE INDEX oauth_grants_by_client ON oauth_grants (client_id, id);

-- Authorization codes, by the hash of the code (never the code), single use: used_at is set
-- by the exchange, which records the grant it made so that a second use revokes it.
CREATE TABLE oauth_codes (
    code_hash      BLOB  NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    -- the PKCE S256 challenge, when one was sent
    code_challenge TEXT,
    created_at     INTEGER  NOT NULL,
    expires_at     INTEGER  NOT NULL,
    used_at        INTEGER,
    grant_id       TEXT
);

-- Tokens name the app they were issued to and the grant they came from. An app's own token
-- (client credentials) has the client as its subject, not a user: the foreign key from
-- subject to users goes (the check path already treats an owner it cannot find as
-- inactive). SQLite cannot drop a constraint: the table is rebuilt as in 0010.
CREATE TABLE tokens_rebuilt (
    seq          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    role         TEXT,
    secret_hash  BLOB    NOT NULL,
    scopes       TEXT    NOT NULL,
    cap          TEXT,
    read_only    BOOLEAN NOT NULL,
    issued_at    INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    created_by   TEXT,
    role_id      TEXT,
    client_id    TEXT,
    grant_id     TEXT
);
INSERT INTO tokens_rebuilt (seq, id, kind, name, subject, role, secret_hash, scopes, cap,
                            read_only, issued_at, expires_at, last_used_at, revoked_at,
                            created_by, role_id)
    SELECT seq, id, kind, name, subject, role, secret_hash, scopes, cap, read_only,
           issued_at, expires_at, last_used_at, revoked_at, created_by, role_id
    FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_rebuilt RENAME TO tokens;
CREATE INDEX tokens_by_subject ON tokens (subject, seq);
CREATE INDEX tokens_by_parent ON tokens (created_by);
CREATE INDEX tokens_live_by_subject ON tokens (subject) WHERE revoked_at IS NULL;
CREATE INDEX tokens_by_client ON tokens (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX tokens_by_grant ON tokens (grant_id) WHERE grant_id IS NOT NULL;
