-- 0008: identity providers (CONTRACT §7). An identity is keyed by
-- (provider, subject), never by email. A sign-in in flight is a row of
-- oauth_states, keyed by the hash of its state and bound to the hash of
-- the browser's binding cookie; the callback uses it up with one
-- conditional UPDATE. Users created by a provider have no password
-- (password_hash is '').

CREATE TABLE identities (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    email      TEXT             NOT NULL DEFAULT '',
    created_at BIGINT           NOT NULL,
    UNIQUE (provider, subject)
);

CREATE INDEX identities_user ON identities (user_id);

CREATE TABLE oauth_states (
    hash           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    binding_hash   TEXT COLLATE "C" NOT NULL,
    provider       TEXT COLLATE "C" NOT NULL,
    redirect_uri   TEXT             NOT NULL,
    client_state   TEXT             NOT NULL DEFAULT '',
    code_challenge TEXT             NOT NULL DEFAULT '',
    cookie_mode    BOOLEAN          NOT NULL DEFAULT FALSE,
    link_user_id   TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    created_at     BIGINT           NOT NULL,
    expires_at     BIGINT           NOT NULL,
    used_at        BIGINT
);

CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);
