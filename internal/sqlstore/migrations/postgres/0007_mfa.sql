-- 0007: second factors. A user's TOTP factor: the secret (sealed when an
-- encryption key is configured), pending until confirmed, and the last
-- 30-second step whose code was accepted, which a conditional UPDATE moves
-- only forward, so that a code is accepted once across replicas. Recovery
-- codes are one-time secrets (purpose recovery_code). users.mfa_enabled
-- follows a confirmed factor, in the same transaction.

ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE mfa_totp (
    user_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       TEXT             NOT NULL,
    confirmed_at BIGINT,                   -- NULL while pending
    last_step    BIGINT           NOT NULL DEFAULT -1,
    created_at   BIGINT           NOT NULL
);
