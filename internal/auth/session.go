package auth

import "time"

// Session is one login: a family of refresh tokens, each used up when it is
// rotated. Every access token carries the id of its session, so ending a
// session ends its access tokens too.
type Session struct {
	ID          string
	UserID      string
	CreatedAt   time.Time
	RefreshedAt time.Time
	ExpiresAt   time.Time // moves forward on every refresh
	RevokedAt   time.Time // zero while the session is live
	UserAgent   string
	IP          string
	// Auth is how and when the user authenticated to start the session;
	// every access token of the session carries it (amr, auth_time).
	Auth Authentication
}

// ErrBadRefresh is the contract's one answer to a refresh token that
// cannot be used: an access token, an unknown, expired, used-up or revoked
// refresh token.
var ErrBadRefresh = Errorf(EUnauthenticated, "Invalid or expired refresh token")

// Live reports whether the session can still be refreshed at now.
func (s Session) Live(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// RotateOutcome says what a presented refresh token turned out to be.
type RotateOutcome int

// The outcomes of a rotation.
const (
	// Rotated: the token was the live one; it is now used up and the new one
	// replaces it.
	Rotated RotateOutcome = iota + 1
	// Grace: the token was used up less than the reuse interval ago (two tabs
	// refreshing at once); the new token joins the same session.
	Grace
	// Reused: the token was used up earlier than that. It was stolen or
	// replayed: the whole session has been revoked.
	Reused
)

func (o RotateOutcome) String() string {
	switch o {
	case Rotated:
		return "rotated"
	case Grace:
		return "grace"
	case Reused:
		return "reused"
	}
	return "unknown"
}

// Rotation asks the store to use up one refresh token and issue the next.
type Rotation struct {
	PresentedHash string        // hash of the token the client presented
	NewHash       string        // hash of the token that replaces it
	Now           time.Time     // the time of the request
	SessionTTL    time.Duration // the session's new lifetime from Now
	ReuseInterval time.Duration // grace window for a just-used token
	RevokeUntil   time.Time     // expiry of the revocation recorded on reuse
	// SessionRate caps the session's refreshes (Rotated or Grace): past
	// Max in a Window the rotation is refused with ETooMany, RetryAfter
	// set, and the presented token stays unused. Zero: no cap.
	SessionRate Rate
	// Renewed commits with a rotation whose outcome is Rotated or Grace,
	// Reused with one that revoked the session. Their events are filled in
	// with the session and its user, and an empty Detail with the
	// outcome's name.
	Renewed, Reused Effects
}

// Rate is at most Max events per Window.
type Rate struct {
	Max    int
	Window time.Duration
}

// RotationResult is what a rotation did.
type RotationResult struct {
	Outcome     RotateOutcome
	Session     Session
	User        User
	Revocations []Revocation // set when Outcome is Reused
}

// SessionFilter selects sessions to revoke. UserID or SessionID must be set.
type SessionFilter struct {
	UserID          string // all live sessions of this user
	SessionID       string // this session only
	ExceptSessionID string // leave this one alone
	// KeepNewest, with UserID, leaves the user's newest KeepNewest live
	// sessions alone (the cap on sessions per user); the effects of such
	// a revocation are written only when it ends a session.
	KeepNewest int
}
