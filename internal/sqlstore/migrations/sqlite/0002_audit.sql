-- 0002: the audit trail. One row per security event; never a password or a
-- whole token. AUTOINCREMENT keeps ids from being reused after pruning, so
-- that id order is recording order and a paging cursor stays valid.

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    user_id    TEXT    NOT NULL DEFAULT '',
    username   TEXT    NOT NULL DEFAULT '',
    user_key   TEXT    NOT NULL DEFAULT '', -- auth.UsernameKey(username)
    session_id TEXT    NOT NULL DEFAULT '',
    actor_id   TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Newest first is the primary key read backwards; by user (id or name) and
-- by event, newest first; pruning by time.
CREATE INDEX audit_events_user_id ON audit_events (user_id, id);
CREATE INDEX audit_events_user_key ON audit_events (user_key, id);
CREATE INDEX audit_events_event ON audit_events (event, id);
CREATE INDEX audit_events_created_at ON audit_events (created_at);
