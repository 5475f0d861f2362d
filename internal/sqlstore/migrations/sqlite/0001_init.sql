-- 0001: users, sessions with their refresh tokens, revocations, signing keys.
-- Times are unix milliseconds, UTC. Tables are STRICT, so a value of the
-- wrong type is an error instead of being stored as it comes.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY, -- UUIDv7: sorts in creation order
    username      TEXT    NOT NULL,             -- NFKC, as typed
    username_key  TEXT    NOT NULL UNIQUE,      -- auth.UsernameKey(username)
    role          TEXT    NOT NULL,
    is_active     INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    refreshed_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,             -- moves forward on every refresh
    revoked_at   INTEGER,                      -- NULL while the session is live
    user_agent   TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Every refresh token a session has had (its rotation family), as SHA-256
-- hashes. The live ones have used_at NULL; the used-up ones are kept to
-- recognise reuse.
CREATE TABLE refresh_tokens (
    hash       TEXT    NOT NULL PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- The denylist, as an append-only log: seq is the cursor of
-- RevocationsSince. AUTOINCREMENT keeps seq from ever being reused after
-- Prune deletes the last rows. (kind, id) is not unique: a repeated
-- revocation is a harmless new entry.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,               -- 'session' or 'token'
    id         TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE signing_keys (
    id           TEXT    NOT NULL PRIMARY KEY, -- kid
    algorithm    TEXT    NOT NULL,
    private_key  BLOB    NOT NULL,             -- PKCS #8, DER
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    expires_at   INTEGER                       -- NULL until a newer key replaces it
) STRICT;

-- At most one key per algorithm without an expiry: InitSigningKey relies
-- on it to store one key when several processes start at once.
CREATE UNIQUE INDEX signing_keys_unexpired ON signing_keys (algorithm) WHERE expires_at IS NULL;
