package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Second factors (migration 0007). A user's TOTP factor is one row of
// mfa_totp, pending while confirmed_at is NULL; users.mfa_enabled follows
// a confirmed row in the same transaction. last_step only moves forward,
// by a conditional UPDATE, so that a code is accepted once across
// processes. Recovery codes are one-time secrets (auth.PurposeRecoveryCode)
// issued and voided through Effects.
//
// ConfirmTOTP and DisableMFA change the user's row before the factor's,
// the order in which DeleteUser locks them (its delete of the user
// cascades to the factor), so that on PostgreSQL they do not deadlock
// over those two rows; the user's row also serialises concurrent calls
// for one user. (A deadlock over sessions, as UpdateUser may meet, is
// retried by inTx.)

var (
	opSetPendingTOTP = op{name: "set pending totp", notFound: errNoUser}
	opTOTPOf         = op{name: "totp of", notFound: errNoFactor}
	opConfirmTOTP    = op{name: "confirm totp", notFound: "No two-factor enrolment is pending"}
	opUseTOTPStep    = op{name: "use totp step"}
	opDisableMFA     = op{name: "disable mfa", notFound: errNoFactor}
)

// errNoFactor is the message of ENotFound for a user without a factor.
const errNoFactor = "Two-factor authentication is not set up"

// errNoUser is the message of ENotFound for an unknown user.
const errNoUser = "User not found"

const totpColumns = `user_id, secret, confirmed_at, last_step, created_at`

func scanTOTP(row scanner) (auth.TOTP, error) {
	var f auth.TOTP
	var confirmed sql.NullInt64
	var created int64
	err := row.Scan(&f.UserID, &f.Secret, &confirmed, &f.LastStep, &created)
	f.ConfirmedAt, f.CreatedAt = fromNullMS(confirmed), fromMS(created)
	return f, err
}

// setPendingTOTP stores a new pending factor, or replaces the secret of a
// pending one (which starts over: no step used, created now); a confirmed
// row is left alone and the statement changes nothing.
const setPendingTOTP = `INSERT INTO mfa_totp (` + totpColumns + `) VALUES ($1, $2, NULL, -1, $3)
	ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = -1, created_at = excluded.created_at
	WHERE mfa_totp.confirmed_at IS NULL`

// SetPendingTOTP stores secret as the user's new, unconfirmed factor,
// replacing an unconfirmed one, with fx (a change to that user), in one
// transaction. auth.ErrMFAAlreadyEnabled when the user's factor is on;
// ENotFound "User not found" for an unknown user.
func (s *Store) SetPendingTOTP(ctx context.Context, userID, secret string, fx auth.Effects) error {
	if unstorable(userID) {
		return errNoMatch(opSetPendingTOTP)
	}
	if unstorable(secret) {
		return errUnstorable()
	}
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		t := now()
		err := execOne(ctx, tx, setPendingTOTP, userID, secret, ms(t))
		if errors.Is(err, sql.ErrNoRows) { // the row is there, confirmed
			return applied{}, auth.ErrMFAAlreadyEnabled
		}
		if err != nil {
			return applied{}, err
		}
		return s.effectsOf(ctx, tx, fx, userID, t)
	})
	return s.fail(opSetPendingTOTP, err)
}

// TOTPOf returns the user's factor, pending (ConfirmedAt zero) or
// confirmed. ENotFound.
func (s *Store) TOTPOf(ctx context.Context, userID string) (auth.TOTP, error) {
	if unstorable(userID) {
		return auth.TOTP{}, errNoMatch(opTOTPOf)
	}
	f, err := scanTOTP(s.read().QueryRowContext(ctx,
		`SELECT `+totpColumns+` FROM mfa_totp WHERE user_id = $1`, userID))
	return f, s.fail(opTOTPOf, err)
}

// ConfirmTOTP turns the user's pending factor on, with step as its last
// used step, sets the user's MFAEnabled, and ends the sessions that end
// selects (each with a revocation until until), with fx, in one
// transaction; fx's events are stamped with the user and, when end ends
// sessions, with how many. Of concurrent calls, the conditional UPDATE
// lets one win. ENotFound "User not found" for an unknown user, and
// ENotFound when no factor is pending (none, or already confirmed).
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64, end auth.EndSessions, until time.Time, fx auth.Effects) ([]auth.Revocation, error) {
	return s.switchMFA(ctx, opConfirmTOTP, userID, true, end, until, fx, func(tx querier, t time.Time) error {
		return execOne(ctx, tx, `UPDATE mfa_totp SET confirmed_at = $2, last_step = $3
			WHERE user_id = $1 AND confirmed_at IS NULL`, userID, ms(t), step)
	})
}

// switchMFA sets the user's MFAEnabled to on, runs change, and ends the
// sessions that end selects, with fx, in one transaction. The user's row
// is written first, as deleting a user does (user, then factor), so that
// the two cannot deadlock on PostgreSQL.
func (s *Store) switchMFA(ctx context.Context, o op, userID string, on bool, end auth.EndSessions, until time.Time, fx auth.Effects,
	change func(tx querier, t time.Time) error) ([]auth.Revocation, error) {
	if unstorable(userID) {
		return nil, auth.Errorf(auth.ENotFound, errNoUser)
	}
	if unstorable(end.Except) {
		return nil, errUnstorable()
	}
	var revs []auth.Revocation
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		t := now()
		user, err := setMFAEnabled(ctx, tx, userID, on, t)
		if err != nil {
			return applied{}, err
		}
		if err := change(tx, t); err != nil {
			return applied{}, err
		}
		var res applied
		revs, res, err = s.endSessions(ctx, tx, user, end, until, t, fx)
		return res, err
	})
	if err != nil {
		return nil, s.fail(o, err)
	}
	return revs, nil
}

// setMFAEnabled sets the user's flag and returns the user as changed;
// updated_at moves only if the flag does. ENotFound "User not found".
func setMFAEnabled(ctx context.Context, tx querier, id string, on bool, t time.Time) (auth.User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `UPDATE users SET mfa_enabled = $2,
		updated_at = CASE WHEN mfa_enabled = $2 THEN updated_at ELSE $3 END
		WHERE id = $1 RETURNING `+userColumns, id, on, ms(t)))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, auth.Wrap(auth.ENotFound, err, errNoUser)
	}
	return u, err
}

// UseTOTPStep records step as the user's last used one if it is after
// the last used one and the factor is confirmed, with one conditional
// UPDATE, and reports whether it did: of any number of concurrent calls
// with one step, across processes, one gets true. False for an unknown
// user or a pending factor.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	if unstorable(userID) {
		return false, nil
	}
	err := execOne(ctx, s.write(), `UPDATE mfa_totp SET last_step = $2
		WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2`, userID, step)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.fail(opUseTOTPStep, err)
	}
	return true, nil
}

// DisableMFA deletes the user's factor (pending or on), clears the user's
// MFAEnabled, voids their usable recovery codes, and ends the sessions
// that end selects (each with a revocation until until), with fx, in one
// transaction; fx's events are stamped as ConfirmTOTP's are. ENotFound
// "User not found" for an unknown user, and ENotFound when the user has
// no factor.
func (s *Store) DisableMFA(ctx context.Context, userID string, end auth.EndSessions, until time.Time, fx auth.Effects) ([]auth.Revocation, error) {
	return s.switchMFA(ctx, opDisableMFA, userID, false, end, until, fx, func(tx querier, t time.Time) error {
		if err := execOne(ctx, tx, `DELETE FROM mfa_totp WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err := voidSecrets(ctx, tx, auth.PurposeRecoveryCode, userID, t)
		return err
	})
}

var (
	opTOTPSecrets       = op{name: "list totp secrets"}
	opReplaceTOTPSecret = op{name: "replace totp secret"}
)

// TOTPFactors returns every stored TOTP factor, pending or confirmed, in
// user id order (for resealing their secrets).
func (s *Store) TOTPFactors(ctx context.Context) ([]auth.TOTP, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+totpColumns+` FROM mfa_totp ORDER BY user_id`)
	if err != nil {
		return nil, s.fail(opTOTPSecrets, err)
	}
	fs, err := collect(rows, scanTOTP)
	return fs, s.fail(opTOTPSecrets, err)
}

// ReplaceTOTPSecret sets the stored secret of the user's factor to to if
// it is still from (a compare-and-swap, for resealing), and reports
// whether it did: false when the factor is gone or was replaced meanwhile.
func (s *Store) ReplaceTOTPSecret(ctx context.Context, userID, from, to string) (bool, error) {
	if unstorable(userID, from) {
		return false, nil
	}
	if unstorable(to) {
		return false, errUnstorable()
	}
	err := execOne(ctx, s.write(), `UPDATE mfa_totp SET secret = $3 WHERE user_id = $1 AND secret = $2`, userID, from, to)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, s.fail(opReplaceTOTPSecret, err)
}
