package auth

import (
	"slices"
	"time"
)

// Principal is the authenticated caller of one of Gatehouse's own
// endpoints: who the store says the bearer of a verified access token is.
// The user, the session and the role come from the store (through a cache
// kept coherent by the denylist), never from the token alone.
type Principal struct {
	UserID    string
	Username  string
	Role      Role
	SessionID string
	// AMR are the methods the session was authenticated by (RFC 8176),
	// and AuthTime when: both fixed for the session's whole life.
	AMR      []string
	AuthTime time.Time
	// TokenID is the jti of the presented access token.
	TokenID string
}

// IsAdmin reports whether the caller has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// Origin is who asks for a change and from where: every mutating service
// call takes one, for the audit trail and for the limits counted per
// client address.
type Origin struct {
	IP        string
	UserAgent string
	ActorID   string // the authenticated caller's user id
	Actor     string // the caller's username, or "cli" or "scheduler"
}

// ByPrincipal returns o naming p as the actor.
func (o Origin) ByPrincipal(p Principal) Origin {
	o.ActorID, o.Actor = p.UserID, p.Username
	return o
}

// Authentication methods (RFC 8176) that a session can be started by.
const (
	AMRPassword  = "pwd"
	AMROTP       = "otp"
	AMRMFA       = "mfa"
	AMRRecovery  = "rec"
	AMRFederated = "fed"
)

// Authentication says how and when a user proved who they are: what a
// session is started with and keeps for its whole life.
type Authentication struct {
	AMR  []string
	Time time.Time
}

// HasMethod reports whether the authentication used method m.
func (a Authentication) HasMethod(m string) bool { return slices.Contains(a.AMR, m) }
