-- tessera schema, PostgreSQL dialect: the same tables and columns as SQLite's, so one set of
-- sea-query statements serves both. Times are Unix milliseconds.

CREATE TABLE roles (
    name        TEXT   NOT NULL PRIMARY KEY,
    description TEXT   NOT NULL DEFAULT '',
    -- space-separated permission patterns, kept in minimal form
    permissions TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE user_roles (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NO ACTION: a role cannot be deleted while a user holds it
    role_name TEXT NOT NULL REFERENCES roles (name),
    PRIMARY KEY (user_id, role_name)
);
CREATE INDEX user_roles_by_role ON user_roles (role_name);

CREATE TABLE tokens (
    -- issue order, for stable pagination
    seq          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL CHECK (kind IN ('api_key', 'pat')),
    name         TEXT    NOT NULL,
    subject      TEXT    NOT NULL REFERENCES users (id),
    -- the bound role of a PAT; not a foreign key, so a deleted role leaves PATs granting nothing
    role         TEXT,
    secret_hash  BYTEA   NOT NULL,
    scopes       TEXT    NOT NULL,
    cap          TEXT,
    read_only    BOOLEAN NOT NULL,
    issued_at    BIGINT  NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    created_by   TEXT
);
CREATE INDEX tokens_by_subject ON tokens (subject, seq);
