package auth

import (
	"context"
	"time"
)

// Every store method returns an *Error with code ENotFound, EConflict or
// EUnauthenticated where its doc says so, and a wrapped driver error
// (EInternal, or EUnavailable when the database cannot be reached) otherwise.

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser stores u, filling in ID (unless set) and the timestamps,
	// with fx. EConflict if the username (compared by UsernameKey) is
	// taken; ErrEmailTaken if the address (by EmailKey) is.
	CreateUser(ctx context.Context, u *User, fx Effects) error
	// UserByID returns the user with that id. ENotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// UserByName returns the user whose UsernameKey matches name's. ENotFound.
	UserByName(ctx context.Context, name string) (User, error)
	// UserByEmail returns the user whose address matches addr by
	// EmailKey. ENotFound.
	UserByEmail(ctx context.Context, addr string) (User, error)
	// ListUsers returns up to limit users in id order, starting after the
	// id `after` ("" for the first page).
	ListUsers(ctx context.Context, after string, limit int) ([]User, error)
	// UpdateUser applies u and ends the sessions that end selects, in one
	// transaction with fx, each ended session with a revocation that
	// expires at until. It ends nothing by itself: the caller decides
	// what a change makes untrustworthy. ENotFound; ErrLastAdmin (see
	// UserUpdate.KeepAnAdmin).
	UpdateUser(ctx context.Context, id string, u UserUpdate, end EndSessions, until time.Time, fx Effects) (User, []Revocation, error)
	// SetPasswordHash replaces a user's hash without revoking anything (used
	// to upgrade a hash on login). ENotFound.
	SetPasswordHash(ctx context.Context, id, hash string) error
	// DeleteUser removes a user and its sessions, recording a revocation for
	// each live session, with fx. ENotFound; ErrLastAdmin with keepAnAdmin
	// when the user is the last active administrator.
	DeleteUser(ctx context.Context, id string, until time.Time, keepAnAdmin bool, fx Effects) ([]Revocation, error)
}

// SessionStore keeps sessions and their refresh tokens (as hashes only).
type SessionStore interface {
	// CreateSession stores s (ID set by the caller) with its first refresh
	// token, and fx. ENotFound if the user does not exist.
	CreateSession(ctx context.Context, s Session, refreshHash string, fx Effects) error
	// RotateRefreshToken uses up r.PresentedHash. Of any number of
	// concurrent calls with the same hash, exactly one gets Rotated.
	// EUnauthenticated if the token is unknown or its session is revoked or
	// expired.
	RotateRefreshToken(ctx context.Context, r Rotation) (RotationResult, error)
	// SessionByRefreshHash returns the session that a refresh token (used
	// up or not) belongs to. ENotFound.
	SessionByRefreshHash(ctx context.Context, hash string) (Session, error)
	// SessionByID returns a session, live or not. ENotFound.
	SessionByID(ctx context.Context, id string) (Session, error)
	// SessionWithUser returns a session, live or not, and its user, in one
	// round trip. ENotFound.
	SessionWithUser(ctx context.Context, id string) (Session, User, error)
	// ListSessions returns the user's live sessions at now, newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeSessions ends the live sessions that f selects and records a
	// revocation for each, expiring at until, with fx. Sessions already
	// ended are left alone and not returned.
	RevokeSessions(ctx context.Context, f SessionFilter, until time.Time, fx Effects) ([]Revocation, error)
}

// RevocationStore is the durable denylist.
type RevocationStore interface {
	// RevokeToken records the revocation of one access token id, with fx.
	RevokeToken(ctx context.Context, jti string, until time.Time, fx Effects) (Revocation, error)
	// Revocations returns every revocation that has not expired at now, and
	// a cursor for RevocationsSince.
	Revocations(ctx context.Context, now time.Time) ([]Revocation, int64, error)
	// RevocationsSince returns the revocations recorded after cursor, and
	// the cursor to use next time.
	RevocationsSince(ctx context.Context, cursor int64) ([]Revocation, int64, error)
	// RevocationsPage returns at most limit (≥ 1) revocations recorded after
	// cursor (0 reads from the start) that have not expired at now.
	RevocationsPage(ctx context.Context, cursor int64, now time.Time, limit int) (RevocationPage, error)
	// Prune deletes what has expired at now: revocations, sessions and
	// their refresh tokens. It returns how many rows it removed.
	Prune(ctx context.Context, now time.Time) (int64, error)
}

// KeyStore keeps the asymmetric signing keys.
type KeyStore interface {
	// SigningKeys returns every key that has not expired at now, ordered by
	// ActivatesAt; with the zero time, every stored key.
	SigningKeys(ctx context.Context, now time.Time) ([]SigningKey, error)
	// InitSigningKey stores k unless a key of the same algorithm without an
	// expiry exists; it reports whether k was stored. Safe when several
	// processes start at once: at most one key is stored.
	InitSigningKey(ctx context.Context, k SigningKey) (bool, error)
	// RotateSigningKey stores k and gives every other key that has no
	// expiry yet the expiry othersExpireAt, in one transaction.
	RotateSigningKey(ctx context.Context, k SigningKey, othersExpireAt time.Time) error
	// ReplacePrivateKey sets the stored private key bytes of key id to to
	// if they are still from (a compare-and-swap, for re-encryption), and
	// reports whether it did: false when the key is gone or its bytes
	// changed meanwhile. Nothing else of the key changes.
	ReplacePrivateKey(ctx context.Context, id string, from, to []byte) (bool, error)
}

// AuditStore keeps the audit trail.
type AuditStore interface {
	// RecordAudit stores e and sets e.ID, which is greater than the id of
	// every event stored before.
	RecordAudit(ctx context.Context, e *AuditEvent) error
	// AuditEvents returns up to f.Limit events that f selects, newest
	// (highest id) first.
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// PruneAudit deletes the events older than before and returns how many
	// it deleted.
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}

// Store is everything a backend provides.
type Store interface {
	UserStore
	SessionStore
	RevocationStore
	KeyStore
	AuditStore
	SecretStore
	OutboxStore
	MFAStore
	IdentityStore
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
}
