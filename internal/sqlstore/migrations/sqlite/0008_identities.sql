-- 0008: identity providers (CONTRACT §7). An identity is keyed by
-- (provider, subject), never by email. A sign-in in flight is a row of
-- oauth_states, keyed by the hash of its state and bound to the hash of
-- the browser's binding cookie; the callback uses it up with one
-- conditional UPDATE. Users created by a provider have no password
-- (password_hash is '').

CREATE TABLE identities (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (provider, subject)
) STRICT;

CREATE INDEX identities_user ON identities (user_id);

CREATE TABLE oauth_states (
    hash           TEXT    NOT NULL PRIMARY KEY,
    binding_hash   TEXT    NOT NULL,
    provider       TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    client_state   TEXT    NOT NULL DEFAULT '',
    code_challenge TEXT    NOT NULL DEFAULT '',
    cookie_mode    INTEGER NOT NULL DEFAULT 0,
    link_user_id   TEXT    REFERENCES users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
) STRICT;

CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);
