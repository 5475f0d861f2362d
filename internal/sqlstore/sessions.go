package sqlstore

import (
	"context"
	"database/sql"
	"strings"
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

const sessionColumns = `id, user_id, created_at, refreshed_at, expires_at, revoked_at, user_agent, ip, amr, auth_time`

func scanSession(row scanner) (auth.Session, error) {
	var s auth.Session
	dest, finish := sessionDest(&s)
	err := row.Scan(dest...)
	finish()
	return s, err
}

// sessionDest returns the scan destinations of sessionColumns, and a func
// that fills s from them once scanned.
func sessionDest(s *auth.Session) ([]any, func()) {
	var created, refreshed, expires, authTime int64
	var revoked sql.NullInt64
	var amr string
	dest := []any{&s.ID, &s.UserID, &created, &refreshed, &expires, &revoked, &s.UserAgent, &s.IP, &amr, &authTime}
	return dest, func() {
		s.CreatedAt, s.RefreshedAt, s.ExpiresAt = fromMS(created), fromMS(refreshed), fromMS(expires)
		s.RevokedAt = fromNullMS(revoked)
		s.Auth = auth.Authentication{AMR: strings.Fields(amr), Time: fromMS(authTime)}
	}
}

// qualified prefixes each of a list of columns with a table alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// CreateSession stores s with its first refresh token, issued at
// s.CreatedAt (now if zero; RefreshedAt defaults to CreatedAt, and
// Auth.Time to CreatedAt too), with fx. ENotFound if the user does not
// exist.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session, refreshHash string, fx auth.Effects) error {
	if unstorable(sess.ID, sess.UserID, sess.UserAgent, sess.IP, refreshHash) {
		return errUnstorable()
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now()
	}
	if sess.RefreshedAt.IsZero() {
		sess.RefreshedAt = sess.CreatedAt
	}
	if sess.Auth.Time.IsZero() {
		sess.Auth.Time = sess.CreatedAt
	}
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			sess.ID, sess.UserID, ms(sess.CreatedAt), ms(sess.RefreshedAt), ms(sess.ExpiresAt),
			nullMS(sess.RevokedAt), sess.UserAgent, sess.IP, strings.Join(sess.Auth.AMR, " "), ms(sess.Auth.Time))
		if err != nil {
			return applied{}, err
		}
		if err := insertRefreshToken(ctx, tx, refreshHash, sess.ID, sess.CreatedAt); err != nil {
			return applied{}, err
		}
		return s.applyEffects(ctx, tx, fx, subject{userID: sess.UserID, sessionID: sess.ID}, sess.CreatedAt)
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

var sessionWithUser = `SELECT ` + qualified("s", sessionColumns) + `, ` + qualified("u", userColumns) + `
	FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`

// SessionWithUser returns a session, live or not, and its user, in one
// query. ENotFound.
func (s *Store) SessionWithUser(ctx context.Context, id string) (auth.Session, auth.User, error) {
	var sess auth.Session
	var u auth.User
	sdest, sfinish := sessionDest(&sess)
	udest, ufinish := userDest(&u)
	err := s.read().QueryRowContext(ctx, sessionWithUser, id).Scan(append(sdest, udest...)...)
	sfinish()
	ufinish()
	return sess, u, s.fail(opSessionByID, err)
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
// revocation for each, expiring at until, with fx. Sessions already ended
// (revoked, or expired by the store's clock) are left alone and not
// returned. EInvalid if f sets neither UserID nor SessionID.
func (s *Store) RevokeSessions(ctx context.Context, f auth.SessionFilter, until time.Time, fx auth.Effects) ([]auth.Revocation, error) {
	if f.UserID == "" && f.SessionID == "" {
		return nil, auth.Errorf(auth.EInvalid, "A user or a session must be named")
	}
	if unstorable(f.UserID, f.SessionID, f.ExceptSessionID) {
		return nil, nil // no session has such an id
	}
	var revs []auth.Revocation
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		t := now()
		var res applied
		var err error
		revs, res, err = s.revokeSessions(ctx, tx, f, until, t, fx, subject{userID: f.UserID, sessionID: f.SessionID})
		return res, err
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
	// revokeOldest ends the user's live sessions but the $4 newest.
	revokeOldest = `UPDATE sessions SET revoked_at = $1
		WHERE id IN (SELECT id FROM sessions
			WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND expires_at > $1
			ORDER BY created_at DESC, id DESC LIMIT 1000000000 OFFSET $4)
		RETURNING id`
	revokeBySession = `UPDATE sessions SET revoked_at = $1
		WHERE id = $2 AND id <> $3 AND ($4 = '' OR user_id = $4)
			AND revoked_at IS NULL AND expires_at > $1
		RETURNING id`
)

// revokeSessions ends the sessions that f selects and live at t, writes
// fx for sub (stamped with how many it ended), then records the
// revocations, last.
func (s *Store) revokeSessions(ctx context.Context, tx querier, f auth.SessionFilter, until, t time.Time, fx auth.Effects, sub subject) ([]auth.Revocation, applied, error) {
	query, args := revokeByUser, []any{ms(t), f.UserID, f.ExceptSessionID}
	if f.KeepNewest > 0 {
		query, args = revokeOldest, []any{ms(t), f.UserID, f.ExceptSessionID, f.KeepNewest}
	}
	if f.SessionID != "" {
		query, args = revokeBySession, []any{ms(t), f.SessionID, f.ExceptSessionID, f.UserID}
	}
	ids, err := queryStrings(ctx, tx, query, args...)
	if err != nil {
		return nil, applied{}, err
	}
	if f.KeepNewest > 0 && len(ids) == 0 {
		return nil, applied{}, nil // under the cap: nothing happened
	}
	res, err := s.applyEffects(ctx, tx, fx, sub.ending(len(ids)), t)
	if err != nil {
		return nil, applied{}, err
	}
	revs, err := s.insertRevocations(ctx, tx, auth.RevokedSession, ids, until, t)
	return revs, res, err
}
