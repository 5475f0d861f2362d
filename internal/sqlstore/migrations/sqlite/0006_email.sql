-- 0006: addresses on users, and the outbox of mail.

-- email: as given (NULL for none); email_key: auth.EmailKey(email), unique.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_key TEXT;
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- Messages waiting to be sent, or sent, or given up. A row is written in
-- the transaction of the change it tells of; senders claim due rows with a
-- lease (SQLite serializes the claiming UPDATE), send outside any
-- transaction, and record the outcome only while they still hold the
-- lease. The body, which may hold a live link, is blanked once the
-- message is sent or has failed.
CREATE TABLE outbox (
    id              TEXT    NOT NULL PRIMARY KEY, -- UUIDv7: sorts in creation order
    message_id      TEXT    NOT NULL,             -- RFC 5322 Message-ID, the same on every attempt
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    user_id         TEXT    NOT NULL DEFAULT '',  -- '' when it concerns no account; no foreign key: a notice outlives a deletion
    subject         TEXT    NOT NULL DEFAULT '',
    body_text       TEXT    NOT NULL DEFAULT '',
    body_html       TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL,             -- pending, sent, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    lease           TEXT    NOT NULL DEFAULT '',  -- the claim that may record the outcome
    lease_until     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id); -- the claim's order: no sort
CREATE INDEX outbox_state ON outbox (state, id);
