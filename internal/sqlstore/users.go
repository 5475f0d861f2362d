package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/google/uuid"
)

var (
	opCreateUser      = op{name: "create user", conflict: "Username already exists"}
	opUserByID        = op{name: "user by id", notFound: "User not found"}
	opUserByName      = op{name: "user by name", notFound: "User not found"}
	opUserByEmail     = op{name: "user by email", notFound: "User not found"}
	opListUsers       = op{name: "list users"}
	opUpdateUser      = op{name: "update user", notFound: "User not found"}
	opSetPasswordHash = op{name: "set password hash", notFound: "User not found"}
	opDeleteUser      = op{name: "delete user", notFound: "User not found"}
)

const userColumns = `id, username, role, is_active, password_hash, email, email_verified, mfa_enabled, created_at, updated_at`

// emailKeyIndex keeps addresses unique (migration 0006).
var emailKeyIndex = uniqueIndex{name: "users_email_key", columns: "users.email_key"}

// nullEmail stores the empty address as NULL, which collides with nothing.
func nullEmail(addr string) any {
	if addr == "" {
		return nil
	}
	return addr
}

// emailKey is auth.EmailKey(addr), or NULL for no address.
func emailKey(addr string) any {
	if addr == "" {
		return nil
	}
	return auth.EmailKey(addr)
}

// emailTaken returns auth.ErrEmailTaken, carrying cause for the logs, if
// cause is a violation of the address's unique index, and nil otherwise.
func (s *Store) emailTaken(cause error) error {
	if !s.d.conflictOn(cause, emailKeyIndex) {
		return nil
	}
	return fmt.Errorf("sqlstore: %w (%w)", auth.ErrEmailTaken, cause)
}

func scanUser(row scanner) (auth.User, error) {
	var u auth.User
	dest, finish := userDest(&u)
	err := row.Scan(dest...)
	finish()
	return u, err
}

// userDest returns the scan destinations of userColumns, and a func that
// fills u from them once scanned.
func userDest(u *auth.User) ([]any, func()) {
	var created, updated int64
	var email sql.NullString
	dest := []any{&u.ID, &u.Username, &u.Role, &u.Active, &u.PasswordHash, &email, &u.EmailVerified, &u.MFAEnabled, &created, &updated}
	return dest, func() { u.Email, u.CreatedAt, u.UpdatedAt = email.String, fromMS(created), fromMS(updated) }
}

// CreateUser stores u with its username in NFKC form, both timestamps set
// to now and, unless u.ID is set, a new UUIDv7 id, with fx. EConflict if
// the username is taken, or one that looks like it (the same
// auth.UsernameSkeleton); auth.ErrEmailTaken if the address is, by
// auth.EmailKey. A user without an address is never verified.
func (s *Store) CreateUser(ctx context.Context, u *auth.User, fx auth.Effects) error {
	return s.createUser(ctx, opCreateUser, u, fx, nil)
}

// createUser inserts u and runs then (when set) in the same transaction,
// before fx is applied.
func (s *Store) createUser(ctx context.Context, o op, u *auth.User, fx auth.Effects, then func(tx querier, created auth.User, t time.Time) error) error {
	if unstorable(u.ID, u.Username, string(u.Role), u.PasswordHash, u.Email) {
		return errUnstorable()
	}
	id := u.ID
	if id == "" {
		v7, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("sqlstore: %s: %w", o.name, err)
		}
		id = v7.String()
	}
	t := now()
	name := auth.NormalizeUsername(u.Username)
	verified := u.EmailVerified && u.Email != ""
	created := auth.User{ID: id, Username: name}
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO users
			(id, username, username_key, username_skeleton, role, is_active, password_hash,
			 email, email_key, email_verified, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
			id, name, auth.UsernameKey(name), auth.UsernameSkeleton(name),
			string(u.Role), u.Active, u.PasswordHash, nullEmail(u.Email), emailKey(u.Email), verified, ms(t))
		if err != nil {
			return applied{}, err
		}
		if then != nil {
			if err := then(tx, created, t); err != nil {
				return applied{}, err
			}
		}
		return s.applyEffects(ctx, tx, fx, subjectOf(created, ""), t)
	})
	if taken := s.emailTaken(err); taken != nil {
		return taken
	}
	if err != nil {
		return s.fail(o, err)
	}
	u.ID, u.Username, u.EmailVerified, u.CreatedAt, u.UpdatedAt = id, name, verified, t, t
	return nil
}

// UserByID returns the user with that id. ENotFound.
func (s *Store) UserByID(ctx context.Context, id string) (auth.User, error) {
	if unstorable(id) {
		return auth.User{}, errNoMatch(opUserByID)
	}
	u, err := userByID(ctx, s.read(), id)
	return u, s.fail(opUserByID, err)
}

func userByID(ctx context.Context, db querier, id string) (auth.User, error) {
	return scanUser(db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// UserByName returns the user whose auth.UsernameKey matches name's.
// ENotFound.
func (s *Store) UserByName(ctx context.Context, name string) (auth.User, error) {
	if unstorable(name) {
		return auth.User{}, errNoMatch(opUserByName)
	}
	u, err := scanUser(s.read().QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE username_key = $1`, auth.UsernameKey(name)))
	return u, s.fail(opUserByName, err)
}

// UserByEmail returns the user whose address matches addr by
// auth.EmailKey. ENotFound, also for "" (no address matches no account).
func (s *Store) UserByEmail(ctx context.Context, addr string) (auth.User, error) {
	if unstorable(addr) || auth.EmailKey(addr) == "" {
		return auth.User{}, errNoMatch(opUserByEmail)
	}
	u, err := scanUser(s.read().QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE email_key = $1`, auth.EmailKey(addr)))
	return u, s.fail(opUserByEmail, err)
}

// ListUsers returns up to limit users in id (creation) order, after the id
// after ("" for the first page).
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]auth.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	if unstorable(after) {
		return nil, errUnstorable()
	}
	rows, err := s.read().QueryContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, s.fail(opListUsers, err)
	}
	users, err := collect(rows, scanUser)
	return users, s.fail(opListUsers, err)
}

// UpdateUser applies u and ends the sessions that end selects, with fx,
// in one transaction; each ended session gets a revocation that expires at
// until. It ends nothing unless asked.
//
// The address: u.Email sets it ("" removes it, and the account is then
// unverified whatever u.EmailVerified says). A new address whose
// auth.EmailKey differs from the old one's is unverified unless
// u.EmailVerified says otherwise; one with the same key (a change of case)
// keeps the verification unless u.EmailVerified is given. u.EmailVerified
// alone sets the verification of the current address. With u.EmailWas,
// nothing changes and nothing ends unless the account's address still
// has that key; otherwise ENotFound.
//
// ENotFound; ErrLastAdmin; auth.ErrEmailTaken.
func (s *Store) UpdateUser(ctx context.Context, id string, u auth.UserUpdate, end auth.EndSessions, until time.Time, fx auth.Effects) (auth.User, []auth.Revocation, error) {
	if unstorable(id, nullText(u.EmailWas)) {
		return auth.User{}, nil, errNoMatch(opUpdateUser)
	}
	if unstorable(end.Except, nullText(u.Role), nullText(u.PasswordHash), nullText(u.Email)) {
		return auth.User{}, nil, errUnstorable()
	}
	var user auth.User
	var revs []auth.Revocation
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		var err error
		var res applied
		user, revs, res, err = s.updateUser(ctx, tx, id, u, end, until, fx)
		return res, err
	})
	if taken := s.emailTaken(err); taken != nil {
		return auth.User{}, nil, taken
	}
	if err != nil {
		return auth.User{}, nil, s.fail(opUpdateUser, err)
	}
	return user, revs, nil
}

// The new values of the address's columns in updateUser's UPDATE, where
// $6 says whether the address is set, $7 is the new address and $8 its
// key (NULL for none), and $9 the verification asked for (NULL if not).
// Every column here is the row's old value, in SET as in WHERE.
const (
	newEmail    = `CASE WHEN $6 THEN CAST($7 AS TEXT) ELSE email END`
	newEmailKey = `CASE WHEN $6 THEN CAST($8 AS TEXT) ELSE email_key END`
	newVerified = `CASE WHEN ` + newEmailKey + ` IS NULL THEN FALSE
		WHEN ` + newEmailKey + ` IS DISTINCT FROM email_key THEN COALESCE($9, FALSE)
		ELSE COALESCE($9, email_verified) END`
	// emailWas is updateUser's guard: $10 says whether u.EmailWas is
	// set, $11 is its key.
	emailWas = `(NOT $10 OR email_key IS NOT DISTINCT FROM CAST($11 AS TEXT))`
)

var (
	updateUserRow = `UPDATE users SET
		role = COALESCE($2, role), is_active = COALESCE($3, is_active),
		password_hash = COALESCE($4, password_hash),
		email = ` + newEmail + `, email_key = ` + newEmailKey + `, email_verified = ` + newVerified + `,
		updated_at = $5
		WHERE id = $1 AND ` + emailWas + ` AND (role <> COALESCE($2, role) OR is_active <> COALESCE($3, is_active)
			OR password_hash <> COALESCE($4, password_hash)
			OR email IS DISTINCT FROM ` + newEmail + ` OR email_verified <> ` + newVerified + `)
		RETURNING ` + userColumns
	// unchangedUser reads the row that updateUserRow left alone, under
	// the same guard ($2, $3 as $10, $11 above).
	unchangedUser = `SELECT ` + userColumns + ` FROM users
		WHERE id = $1 AND (NOT $2 OR email_key IS NOT DISTINCT FROM CAST($3 AS TEXT))`
)

// updateUser changes the row only where a value differs, so that "no row
// changed" tells a no-op from a change without reading first; the read
// that follows no change repeats the EmailWas guard, so that a stale
// guard is ENotFound either way. The sessions named by end are ended
// whenever the user is found.
func (s *Store) updateUser(ctx context.Context, tx querier, id string, u auth.UserUpdate, end auth.EndSessions, until time.Time, fx auth.Effects) (auth.User, []auth.Revocation, applied, error) {
	t := now()
	if u.KeepAnAdmin && (u.Role != nil && *u.Role != auth.RoleAdmin || u.Active != nil && !*u.Active) {
		if err := s.keepAnAdmin(ctx, tx, id); err != nil {
			return auth.User{}, nil, applied{}, err
		}
	}
	role, active, hash := nullString(u.Role), nullBool(u.Active), nullString(u.PasswordHash)
	addr := nullText(u.Email)
	guarded, wasKey := u.EmailWas != nil, emailKey(nullText(u.EmailWas))
	user, err := scanUser(tx.QueryRowContext(ctx, updateUserRow, id, role, active, hash, ms(t),
		u.Email != nil, nullEmail(addr), emailKey(addr), nullBool(u.EmailVerified), guarded, wasKey))
	if errors.Is(err, sql.ErrNoRows) { // unknown user, a stale guard, or nothing to change
		user, err = scanUser(tx.QueryRowContext(ctx, unchangedUser, id, guarded, wasKey))
	}
	if err != nil {
		return auth.User{}, nil, applied{}, err
	}
	revs, res, err := s.endSessions(ctx, tx, user, end, until, t, fx)
	return user, revs, res, err
}

// endSessions ends the sessions of user that end selects, each with a
// revocation until until, and writes fx as a change to user (its events
// stamped with how many sessions ended, when end asks for any to end).
func (s *Store) endSessions(ctx context.Context, tx querier, user auth.User, end auth.EndSessions, until, t time.Time, fx auth.Effects) ([]auth.Revocation, applied, error) {
	if !end.All {
		res, err := s.applyEffects(ctx, tx, fx, subjectOf(user, ""), t)
		return nil, res, err
	}
	return s.revokeSessions(ctx, tx, auth.SessionFilter{UserID: user.ID, ExceptSessionID: end.Except}, until, t, fx, subjectOf(user, ""))
}

// nullString and nullBool pass a nil pointer as NULL and anything else as
// the plain value it points to.
func nullString[T ~string](p *T) any {
	if p == nil {
		return nil
	}
	return string(*p)
}

func nullBool(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

// SetPasswordHash replaces a user's hash without revoking anything.
// ENotFound.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string) error {
	if unstorable(id) {
		return errNoMatch(opSetPasswordHash)
	}
	if unstorable(hash) {
		return errUnstorable()
	}
	err := execOne(ctx, s.write(), `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`,
		id, hash, ms(now()))
	return s.fail(opSetPasswordHash, err)
}

// DeleteUser deletes a user, its sessions and their refresh tokens, and
// records a revocation for each live session, with fx. ENotFound.
func (s *Store) DeleteUser(ctx context.Context, id string, until time.Time, keepAnAdmin bool, fx auth.Effects) ([]auth.Revocation, error) {
	if unstorable(id) {
		return nil, errNoMatch(opDeleteUser)
	}
	var revs []auth.Revocation
	err := s.mutate(ctx, func(tx querier) (applied, error) {
		if keepAnAdmin {
			if err := s.keepAnAdmin(ctx, tx, id); err != nil {
				return applied{}, err
			}
		}
		var err error
		var res applied
		revs, res, err = s.deleteUser(ctx, tx, id, until, fx)
		return res, err
	})
	if err != nil {
		return nil, s.fail(opDeleteUser, err)
	}
	return revs, nil
}

// deleteUser locks the rows in the order a rotation does (refresh tokens,
// then sessions), so that the two cannot deadlock on PostgreSQL.
func (s *Store) deleteUser(ctx context.Context, tx querier, id string, until time.Time, fx auth.Effects) ([]auth.Revocation, applied, error) {
	t := now()
	user, err := userByID(ctx, tx, id)
	if err != nil {
		return nil, applied{}, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens
		WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)`, id); err != nil {
		return nil, applied{}, err
	}
	ids, err := queryStrings(ctx, tx, `DELETE FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING id`, id, ms(t))
	if err != nil {
		return nil, applied{}, err
	}
	if err := execOne(ctx, tx, `DELETE FROM users WHERE id = $1`, id); err != nil {
		return nil, applied{}, err
	}
	res, err := s.applyEffects(ctx, tx, fx, subjectOf(user, "").ending(len(ids)), t)
	if err != nil {
		return nil, applied{}, err
	}
	revs, err := s.insertRevocations(ctx, tx, auth.RevokedSession, ids, until, t)
	return revs, res, err
}

// keepAnAdmin refuses with ErrLastAdmin when the user id is an active
// administrator and no other is. It holds lockAdmins until the commit, so
// of two changes that would each leave the other admin alone, the second
// sees the first.
func (s *Store) keepAnAdmin(ctx context.Context, tx querier, id string) error {
	if err := s.d.lock(ctx, tx, lockAdmins); err != nil {
		return err
	}
	var isAdmin, others int
	err := tx.QueryRowContext(ctx, `SELECT
		COUNT(CASE WHEN id = $1 THEN 1 END), COUNT(CASE WHEN id <> $1 THEN 1 END)
		FROM users WHERE role = $2 AND is_active`, id, string(auth.RoleAdmin)).Scan(&isAdmin, &others)
	if err != nil {
		return err
	}
	if isAdmin == 1 && others == 0 {
		return auth.ErrLastAdmin
	}
	return nil
}

// collect reads every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryStrings runs a query whose rows are one string each.
func queryStrings(ctx context.Context, db querier, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(row scanner) (string, error) {
		var s string
		return s, row.Scan(&s)
	})
}
