-- Logins (the logins issue): users gain a password and a TOTP second factor, sessions are
-- tokens of kind 'session', and session JWTs are signed by keys kept here.

ALTER TABLE users
    -- argon2id PHC string; NULL: the user cannot log in with a password.
    ADD COLUMN password_hash TEXT,
    -- The TOTP seed, sealed under the server secret (ChaCha20-Poly1305, the user id as
    -- associated data); set by EnrollTotp, in use once totp_enabled.
    ADD COLUMN totp_secret BYTEA,
    ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- The last time step whose code was accepted: a code for it or an earlier one is refused.
    ADD COLUMN totp_last_step BIGINT;

-- tokens.kind loses its CHECK: each token kind the application adds (sessions now, OAuth
-- tokens later) would otherwise need a migration. The application names the kinds, and
-- reading a row of a kind it does not know fails rather than grants.
ALTER TABLE tokens DROP CONSTRAINT tokens_kind_check;

-- Ed25519 keys for session JWTs, shared by every replica.
CREATE TABLE signing_keys (
    kid         TEXT   NOT NULL PRIMARY KEY,
    -- the raw 32-byte public key
    public_key  BYTEA  NOT NULL,
    -- the 32-byte seed, sealed under the server secret (the kid as associated data)
    private_key BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL,
    -- set when a newer key takes over: after it no token this key signed is still valid
    retire_at   BIGINT
);

-- Failed logins in a row per username (an HMAC of the folded name, so no typed name, not
-- even a password typed into the name field, is stored), for the lockout's backoff.
CREATE TABLE login_failures (
    name_hash    BYTEA   NOT NULL PRIMARY KEY,
    failures     BIGINT  NOT NULL,
    locked_until BIGINT  NOT NULL
);
