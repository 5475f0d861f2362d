-- 0001: users, sessions with their refresh tokens, revocations, signing keys.
-- Times are unix milliseconds, UTC. Keys that are compared or sorted use
-- the C collation: byte order, whatever the database's locale.

CREATE TABLE users (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- UUIDv7: sorts in creation order
    username      TEXT             NOT NULL,             -- NFKC, as typed
    username_key  TEXT COLLATE "C" NOT NULL UNIQUE,      -- auth.UsernameKey(username)
    role          TEXT             NOT NULL,
    is_active     BOOLEAN          NOT NULL,
    password_hash TEXT             NOT NULL,
    created_at    BIGINT           NOT NULL,
    updated_at    BIGINT           NOT NULL
);

CREATE TABLE sessions (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT           NOT NULL,
    refreshed_at BIGINT           NOT NULL,
    expires_at   BIGINT           NOT NULL,         -- moves forward on every refresh
    revoked_at   BIGINT,                            -- NULL while the session is live
    user_agent   TEXT             NOT NULL DEFAULT '',
    ip           TEXT             NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Every refresh token a session has had (its rotation family), as SHA-256
-- hashes. The live ones have used_at NULL; the used-up ones are kept to
-- recognise reuse.
CREATE TABLE refresh_tokens (
    hash       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  BIGINT           NOT NULL,
    used_at    BIGINT
);

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- The denylist, as an append-only log: seq is the cursor of
-- RevocationsSince. (kind, id) is not unique: a repeated revocation is a
-- harmless new entry.
CREATE TABLE revocations (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT   NOT NULL,                     -- 'session' or 'token'
    id         TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE signing_keys (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- kid
    algorithm    TEXT             NOT NULL,
    private_key  BYTEA            NOT NULL,             -- PKCS #8, DER
    created_at   BIGINT           NOT NULL,
    activates_at BIGINT           NOT NULL,
    expires_at   BIGINT                                 -- NULL until a newer key replaces it
);

-- At most one key per algorithm without an expiry: InitSigningKey relies
-- on it to store one key when several processes start at once.
CREATE UNIQUE INDEX signing_keys_unexpired ON signing_keys (algorithm) WHERE expires_at IS NULL;
