package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var (
	opCreateSession  = op{name: "create session", notFound: "User not found", conflict: "Session already exists"}
	opSessionByHash  = op{name: "session by refresh hash", notFound: "Session not found"}
	opSessionByID    = op{name: "session by id", notFound: "Session not found"}
	opListSessions   = op{name: "list sessions"}
	opRevokeSessions = op{name: "revoke sessions"}
)

const sessionColumns = `id, user_id, created_at, refreshed_at, expires_at, revoked_at, user_agent, ip`

func scanSession(row scanner) (auth.Session, error) {
	var s auth.Session
	var created, refreshed, expires int64
	var revoked sql.NullInt64
	err := row.Scan(&s.ID, &s.UserID, &created, &refreshed, &expires, &revoked, &s.UserAgent, &s.IP)
	s.CreatedAt, s.RefreshedAt, s.ExpiresAt = fromMS(created), fromMS(refreshed), fromMS(expires)
	s.RevokedAt = fromNullMS(revoked)
	return s, err
}

// CreateSession stores s with its first refresh token, issued at
// s.CreatedAt (now if zero; RefreshedAt defaults to CreatedAt). ENotFound
// if the user does not exist.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session, refreshHash string) error {
	if unstorable(sess.ID, sess.UserID, sess.UserAgent, sess.IP, refreshHash) {
		return errUnstorable()
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now()
	}
	if sess.RefreshedAt.IsZero() {
		sess.RefreshedAt = sess.CreatedAt
	}
	err := s.inTx(ctx, func(tx querier) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			sess.ID, sess.UserID, ms(sess.CreatedAt), ms(sess.RefreshedAt), ms(sess.ExpiresAt),
			nullMS(sess.RevokedAt), sess.UserAgent, sess.IP)
		if err != nil {
			return err
		}
		return insertRefreshToken(ctx, tx, refreshHash, sess.ID, sess.CreatedAt)
	})
	return s.fail(opCreateSession, err)
}

func insertRefreshToken(ctx context.Context, tx querier, hash, sessionID string, issued time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO refresh_tokens (hash, session_id, issued_at) VALUES ($1, $2, $3)`,
		hash, sessionID, ms(issued))
	return err
}

// SessionByRefreshHash returns the session that a refresh token, used up
// or not, belongs to. ENotFound.
func (s *Store) SessionByRefreshHash(ctx context.Context, hash string) (auth.Session, error) {
	if unstorable(hash) {
		return auth.Session{}, errNoMatch(opSessionByHash)
	}
	sess, err := scanSession(s.read().QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = $1)`, hash))
	return sess, s.fail(opSessionByHash, err)
}

// SessionByID returns a session, live or not. ENotFound.
func (s *Store) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	if unstorable(id) {
		return auth.Session{}, errNoMatch(opSessionByID)
	}
	sess, err := scanSession(s.read().QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	return sess, s.fail(opSessionByID, err)
}

// ListSessions returns the user's live sessions at now, newest first.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error) {
	if unstorable(userID) {
		return nil, nil
	}
	rows, err := s.read().QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
		ORDER BY created_at DESC, id DESC`, userID, ms(now))
	if err != nil {
		return nil, s.fail(opListSessions, err)
	}
	sessions, err := collect(rows, scanSession)
	return sessions, s.fail(opListSessions, err)
}

// RevokeSessions ends the live sessions that f selects and records a
// revocation for each, expiring at until. Sessions already ended (revoked,
// or expired by the store's clock) are left alone and not returned.
// EInvalid if f sets neither UserID nor SessionID.
func (s *Store) RevokeSessions(ctx context.Context, f auth.SessionFilter, until time.Time) ([]auth.Revocation, error) {
	if f.UserID == "" && f.SessionID == "" {
		return nil, auth.Errorf(auth.EInvalid, "A user or a session must be named")
	}
	if unstorable(f.UserID, f.SessionID, f.ExceptSessionID) {
		return nil, nil // no session has such an id
	}
	var revs []auth.Revocation
	err := s.inTx(ctx, func(tx querier) error {
		var err error
		revs, err = s.revokeSessions(ctx, tx, f, until, now())
		return err
	})
	if err != nil {
		return nil, s.fail(opRevokeSessions, err)
	}
	return revs, nil
}

// The two forms of revokeSessions' UPDATE, each able to use its index.
// $4 is the user the session must belong to, if not "".
const (
	revokeByUser = `UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND expires_at > $1
		RETURNING id`
	revokeBySession = `UPDATE sessions SET revoked_at = $1
		WHERE id = $2 AND id <> $3 AND ($4 = '' OR user_id = $4)
			AND revoked_at IS NULL AND expires_at > $1
		RETURNING id`
)

// revokeSessions revokes the sessions that f selects and live at t.
func (s *Store) revokeSessions(ctx context.Context, tx querier, f auth.SessionFilter, until, t time.Time) ([]auth.Revocation, error) {
	query, args := revokeByUser, []any{ms(t), f.UserID, f.ExceptSessionID}
	if f.SessionID != "" {
		query, args = revokeBySession, []any{ms(t), f.SessionID, f.ExceptSessionID, f.UserID}
	}
	ids, err := queryStrings(ctx, tx, query, args...)
	if err != nil {
		return nil, err
	}
	return s.insertRevocations(ctx, tx, auth.RevokedSession, ids, until, t)
}
