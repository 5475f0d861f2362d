-- 0003: how a session was authenticated, and one-time secrets.

-- amr: the RFC 8176 methods, space-separated; auth_time: unix ms. Sessions
-- from before this migration were all started by a password.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET auth_time = created_at;

-- Secrets handed out once (link tokens, pending logins, codes), as SHA-256
-- hashes. A secret is usable while used_at is NULL, expires_at is ahead and
-- attempts_left is above zero; consuming it sets used_at, conditionally, so
-- that exactly one of concurrent consumers wins.
CREATE TABLE one_time_secrets (
    purpose       TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    owner_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data          TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    attempts_left INTEGER NOT NULL,
    used_at       INTEGER,
    PRIMARY KEY (purpose, hash)
) STRICT, WITHOUT ROWID;

CREATE INDEX one_time_secrets_owner ON one_time_secrets (owner_id, purpose) WHERE used_at IS NULL;
CREATE INDEX one_time_secrets_expires_at ON one_time_secrets (expires_at);
