-- 0007: second factors. A user's TOTP factor: the secret (sealed when an
-- encryption key is configured), pending until confirmed, and the last
-- 30-second step whose code was accepted, which a conditional UPDATE moves
-- only forward, so that a code is accepted once across replicas. Recovery
-- codes are one-time secrets (purpose recovery_code). users.mfa_enabled
-- follows a confirmed factor, in the same transaction.

ALTER TABLE users ADD COLUMN mfa_enabled INTEGER NOT NULL DEFAULT 0;

CREATE TABLE mfa_totp (
    user_id      TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       TEXT    NOT NULL,
    confirmed_at INTEGER,                  -- NULL while pending
    last_step    INTEGER NOT NULL DEFAULT -1,
    created_at   INTEGER NOT NULL
) STRICT;
