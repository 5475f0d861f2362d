package auth

import (
	"context"
	"time"
)

// Identity is an account at an identity provider that signs a user in:
// keyed by (Provider, Subject), never by email, since an address can
// change hands at the provider while its subject cannot.
type Identity struct {
	ID       string
	UserID   string
	Provider string // the id of the provider in the providers file
	Subject  string // the provider's `sub`
	// Email is the address the provider gave when the identity was
	// linked (shown to the user; never used to find the identity).
	Email     string
	CreatedAt time.Time
}

// Identity errors with the contract's words.
var (
	// ErrIdentityTaken refuses to link an identity that another user has.
	ErrIdentityTaken = Reasonf(EConflict, "identity_taken", "This identity is linked to another account")
	// ErrLastLoginMethod refuses to unlink the only way a user without a
	// password has of signing in.
	ErrLastLoginMethod = Reasonf(EConflict, "last_login_method", "This is the account's only sign-in method; set a password or link another identity first")
)

// OAuthState is a sign-in at an identity provider in flight: what the
// callback needs to finish it, on any replica. It keeps no secret: the
// state is stored as a hash, and the nonce and PKCE verifier sent to the
// provider are derived from the binding cookie's secret, which only the
// browser that started the flow holds (its hash is kept to match it).
type OAuthState struct {
	Hash        string // SHA-256 of the state sent to the provider, hex
	BindingHash string // SHA-256 of the binding cookie's secret, hex
	Provider    string
	RedirectURI string // where the browser goes back to (checked at start)
	ClientState string // the client's own state, returned to it as is
	// CodeChallenge is the client's PKCE S256 challenge, which the
	// hand-off code is exchanged against ("" in cookie mode).
	CodeChallenge string
	CookieMode    bool   // the callback sets the session cookies
	LinkUserID    string // set when a signed-in user links this provider
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// IdentityStore keeps identities and the flows in flight.
type IdentityStore interface {
	// IdentityBySubject returns the identity of (provider, subject).
	// ENotFound.
	IdentityBySubject(ctx context.Context, provider, subject string) (Identity, error)
	// ListIdentities returns a user's identities, oldest first.
	ListIdentities(ctx context.Context, userID string) ([]Identity, error)
	// CreateUserWithIdentity creates u (as CreateUser does) and links id
	// (ID and CreatedAt filled in, UserID set to u's) in one transaction
	// with fx. EConflict if the username is taken; ErrEmailTaken;
	// ErrIdentityTaken if (provider, subject) is linked already (two
	// first sign-ins racing).
	CreateUserWithIdentity(ctx context.Context, u *User, id *Identity, fx Effects) error
	// LinkIdentity stores id for id.UserID (ID and CreatedAt filled in)
	// with fx. ErrIdentityTaken if (provider, subject) is linked already;
	// ENotFound if the user does not exist.
	LinkIdentity(ctx context.Context, id *Identity, fx Effects) error
	// UnlinkIdentity removes the user's identity id with fx, unless it is
	// the user's last way of signing in (no password, no other identity):
	// ErrLastLoginMethod, decided under a lock so that two unlinks at
	// once cannot both win. ENotFound if the user has no such identity.
	UnlinkIdentity(ctx context.Context, userID, id string, fx Effects) (Identity, error)
	// IssueOAuthState stores a flow in flight.
	IssueOAuthState(ctx context.Context, st OAuthState) error
	// ConsumeOAuthState uses up the state with that hash, when it was
	// started by the browser holding the binding (bindingHash) and has
	// not expired at now, and returns it. Of concurrent calls exactly one
	// succeeds; the others, and every call for an unknown, used, expired
	// or differently bound state, get ENotFound.
	ConsumeOAuthState(ctx context.Context, hash, bindingHash string, now time.Time) (OAuthState, error)
}
