-- 0002: the audit trail. One row per security event; never a password or a
-- whole token. Ids come from an identity, so id order is recording order
-- and a paging cursor stays valid after pruning.

CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at BIGINT           NOT NULL,
    event      TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    username   TEXT             NOT NULL DEFAULT '',
    user_key   TEXT COLLATE "C" NOT NULL DEFAULT '', -- auth.UsernameKey(username)
    session_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    actor_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    actor      TEXT             NOT NULL DEFAULT '',
    ip         TEXT             NOT NULL DEFAULT '',
    user_agent TEXT             NOT NULL DEFAULT '',
    detail     TEXT             NOT NULL DEFAULT ''
);

-- Newest first is the primary key read backwards; by user (id or name) and
-- by event, newest first; pruning by time.
CREATE INDEX audit_events_user_id ON audit_events (user_id, id);
CREATE INDEX audit_events_user_key ON audit_events (user_key, id);
CREATE INDEX audit_events_event ON audit_events (event, id);
CREATE INDEX audit_events_created_at ON audit_events (created_at);
