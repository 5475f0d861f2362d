package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var opRotate = op{name: "rotate refresh token", conflict: "Refresh token already exists"}

// The statements of a rotation. useToken decides the winner: of concurrent
// transactions presenting one token, only one finds used_at NULL. On
// PostgreSQL the others wait for its row lock and then see the token used;
// on SQLite they wait for the write lock.
const (
	useToken = `UPDATE refresh_tokens SET used_at = $1
		WHERE hash = $2 AND used_at IS NULL
		RETURNING session_id`
	// extendSession is also the liveness check and the session's rate
	// limit: it changes nothing, and returns no row, when the session is
	// revoked or expired, or has been refreshed $5 times in the window of
	// $4 ms that began at refresh_window_start.
	extendSession = `UPDATE sessions SET refreshed_at = $1, expires_at = $2,
		refresh_window_count = CASE WHEN refresh_window_start <= $1 - $4 THEN 1 ELSE refresh_window_count + 1 END,
		refresh_window_start = CASE WHEN refresh_window_start <= $1 - $4 THEN $1 ELSE refresh_window_start END
		WHERE id = $3 AND revoked_at IS NULL AND expires_at > $1
			AND (refresh_window_start <= $1 - $4 OR refresh_window_count < $5)
		RETURNING ` + sessionColumns
	// refreshWindow tells a session over its rate from an ended one.
	refreshWindow = `SELECT refresh_window_start FROM sessions
		WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2`
	endSession = `UPDATE sessions SET revoked_at = $1
		WHERE id = $2 AND revoked_at IS NULL AND expires_at > $1
		RETURNING ` + sessionColumns
	findToken = `SELECT session_id, used_at FROM refresh_tokens WHERE hash = $1`
)

// RotateRefreshToken uses up r.PresentedHash in one write transaction and
// says what it was: the live token (Rotated: r.NewHash replaces it), one
// used up within r.ReuseInterval (Grace: r.NewHash joins the session), or
// one used up earlier (Reused: the session is revoked, with a revocation
// until r.RevokeUntil, and no error). Either of the first two moves the
// session's expiry to r.Now+r.SessionTTL. EUnauthenticated if the token is
// unknown or its session is revoked or expired.
func (s *Store) RotateRefreshToken(ctx context.Context, r auth.Rotation) (auth.RotationResult, error) {
	var res auth.RotationResult
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		var err error
		var app applied
		res, app, err = s.rotate(ctx, tx, r)
		return app, err
	})
	if err != nil {
		return auth.RotationResult{}, s.fail(opRotate, err)
	}
	return res, nil
}

// outcomeEffects writes the effects of a rotation's outcome, stamped with
// its session, its user and the outcome's name.
func (s *Store) outcomeEffects(ctx context.Context, tx querier, r auth.Rotation, res auth.RotationResult) (applied, error) {
	fx := r.Renewed
	if res.Outcome == auth.Reused {
		fx = r.Reused
	}
	sub := subjectOf(res.User, res.Session.ID)
	sub.detail = res.Outcome.String()
	return s.applyEffects(ctx, tx, fx, sub, r.Now)
}

func (s *Store) rotate(ctx context.Context, tx querier, r auth.Rotation) (auth.RotationResult, applied, error) {
	var sessionID string
	err := tx.QueryRowContext(ctx, useToken, ms(r.Now), r.PresentedHash).Scan(&sessionID)
	switch {
	case err == nil:
		return s.extend(ctx, tx, r, sessionID, auth.Rotated)
	case errors.Is(err, sql.ErrNoRows):
		return s.rotateUsed(ctx, tx, r)
	}
	return auth.RotationResult{}, applied{}, err
}

// rotateUsed handles a token that useToken did not change: unknown, or
// used up already.
func (s *Store) rotateUsed(ctx context.Context, tx querier, r auth.Rotation) (auth.RotationResult, applied, error) {
	var sessionID string
	var used sql.NullInt64
	err := tx.QueryRowContext(ctx, findToken, r.PresentedHash).Scan(&sessionID, &used)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !used.Valid {
		return auth.RotationResult{}, applied{}, errBadRefresh()
	}
	if err != nil {
		return auth.RotationResult{}, applied{}, err
	}
	if r.ReuseInterval > 0 && r.Now.Sub(fromMS(used.Int64)) <= r.ReuseInterval {
		return s.extend(ctx, tx, r, sessionID, auth.Grace)
	}
	return s.endReused(ctx, tx, r, sessionID)
}

// extend renews a live session and gives it r.NewHash as a live token.
func (s *Store) extend(ctx context.Context, tx querier, r auth.Rotation, sessionID string, o auth.RotateOutcome) (auth.RotationResult, applied, error) {
	window, most := r.SessionRate.Window, int32(min(r.SessionRate.Max, math.MaxInt32))
	if most <= 0 || window <= 0 {
		window, most = time.Millisecond, math.MaxInt32 // no limit
	}
	sess, err := scanSession(tx.QueryRowContext(ctx, extendSession,
		ms(r.Now), ms(r.Now.Add(r.SessionTTL)), sessionID, window.Milliseconds(), most))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.RotationResult{}, applied{}, s.notExtended(ctx, tx, r, sessionID, window)
	}
	if err != nil {
		return auth.RotationResult{}, applied{}, err
	}
	if err := insertRefreshToken(ctx, tx, r.NewHash, sessionID, r.Now); err != nil {
		return auth.RotationResult{}, applied{}, err
	}
	user, err := userByID(ctx, tx, sess.UserID)
	if err != nil {
		return auth.RotationResult{}, applied{}, err
	}
	res := auth.RotationResult{Outcome: o, Session: sess, User: user}
	app, err := s.outcomeEffects(ctx, tx, r, res)
	return res, app, err
}

// notExtended says why extendSession changed nothing: the session is over
// its rate (ETooMany, until its window ends; the transaction rolls back,
// so the presented token is not used up), or it has ended.
func (s *Store) notExtended(ctx context.Context, tx querier, r auth.Rotation, sessionID string, window time.Duration) error {
	var start int64
	err := tx.QueryRowContext(ctx, refreshWindow, sessionID, ms(r.Now)).Scan(&start)
	if errors.Is(err, sql.ErrNoRows) {
		return errBadRefresh()
	}
	if err != nil {
		return err
	}
	return &auth.Error{Code: auth.ETooMany, Message: "Too many refreshes of this session; try again later",
		RetryAfter: max(time.Second, fromMS(start).Add(window).Sub(r.Now))}
}

// endReused revokes the session of a reused token. The transaction
// commits: the revocation stands although the caller answers 401.
func (s *Store) endReused(ctx context.Context, tx querier, r auth.Rotation, sessionID string) (auth.RotationResult, applied, error) {
	sess, err := scanSession(tx.QueryRowContext(ctx, endSession, ms(r.Now), sessionID))
	if errors.Is(err, sql.ErrNoRows) { // ended already
		return auth.RotationResult{}, applied{}, errBadRefresh()
	}
	if err != nil {
		return auth.RotationResult{}, applied{}, err
	}
	user, err := userByID(ctx, tx, sess.UserID)
	if err != nil {
		return auth.RotationResult{}, applied{}, err
	}
	res := auth.RotationResult{Outcome: auth.Reused, Session: sess, User: user}
	app, err := s.outcomeEffects(ctx, tx, r, res)
	if err != nil {
		return auth.RotationResult{}, applied{}, err
	}
	res.Revocations, err = s.insertRevocations(ctx, tx, auth.RevokedSession, []string{sessionID}, r.RevokeUntil, r.Now)
	return res, app, err
}
