-- Logins (the logins issue): users gain a password and a TOTP second factor, sessions are
-- tokens of kind 'session', and session JWTs are signed by keys kept here.

-- argon2id PHC string; NULL: the user cannot log in with a password.
ALTER TABLE users ADD COLUMN password_hash TEXT;
-- The TOTP seed, sealed under the server secret (ChaCha20-Poly1305, the user id as
-- associated data); set by EnrollTotp, in use once totp_enabled.
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
-- The last time step whose code was accepted: a code for it or an earlier one is refused.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

-- tokens.kind loses its CHECK: each token kind the application adds (sessions now, OAuth
-- tokens later) would otherwise need this table rebuilt. The application names the kinds,
-- and reading a row of a kind it does not know fails rather than grants. SQLite cannot
-- drop a constraint, so the table is rebuilt, with its rows, their seq and its indexes.
CREATE TABLE tokens_rebuilt (
    seq          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    subject      TEXT    NOT NULL REFERENCES users (id),
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
    role_id      TEXT
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

-- Ed25519 keys for session JWTs, shared by every replica.
CREATE TABLE signing_keys (
    kid         TEXT    NOT NULL PRIMARY KEY,
    -- the raw 32-byte public key
    public_key  BLOB    NOT NULL,
    -- the 32-byte seed, sealed under the server secret (the kid as associated data)
    private_key BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    -- set when a newer key takes over: after it no token this key signed is still valid
    retire_at   INTEGER
);

-- Failed logins in a row per username (an HMAC of the folded name, so no typed name, not
-- even a password typed into the name field, is stored), for the lockout's backoff.
CREATE TABLE login_failures (
    name_hash    BLOB    NOT NULL PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);
