package auth

import (
	"context"
	"time"
)

// SecretPurpose names what a one-time secret is for; a secret is only ever
// looked up under its own purpose.
type SecretPurpose string

// The purposes of one-time secrets.
const (
	// PurposeLoginAttempt: a login whose first factor succeeded, waiting
	// for its next step (a second factor).
	PurposeLoginAttempt SecretPurpose = "login_attempt"
	// PurposeVerifyEmail: a link that proves the user receives mail at
	// the account's address (Data is that address).
	PurposeVerifyEmail SecretPurpose = "verify_email"
	// PurposeChangeEmail: a link sent to a new address; using it moves
	// the account there (Data is the new address).
	PurposeChangeEmail SecretPurpose = "change_email"
	// PurposeResetPassword: a link that sets a new password.
	PurposeResetPassword SecretPurpose = "reset_password"
	// PurposeOAuthCode: the one-time code that hands a sign-in at an
	// identity provider over to the client that started it, exchanged
	// with that client's PKCE verifier (Data holds its challenge).
	PurposeOAuthCode SecretPurpose = "oauth_code"
)

// OneTimeSecret is a secret handed out once (a link token, a code, a
// pending login) and stored only as a hash: it can be consumed exactly
// once, before it expires, while it has attempts left.
type OneTimeSecret struct {
	Hash    string // SHA-256 of the secret, hex; unique per purpose
	Purpose SecretPurpose
	OwnerID string // the user it belongs to
	// Data is what the step that consumes the secret needs (never the
	// secret itself): a new address, the methods of a pending login.
	Data         string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	AttemptsLeft int       // wrong guesses that still leave it usable
	UsedAt       time.Time // zero until consumed or voided
}

// Usable reports whether s can still be consumed at now.
func (s OneTimeSecret) Usable(now time.Time) bool {
	return s.UsedAt.IsZero() && now.Before(s.ExpiresAt) && s.AttemptsLeft > 0
}

// SecretStore keeps one-time secrets. Every method is safe under
// concurrency across processes: the store decides with a conditional
// update, as for refresh-token rotation.
type SecretStore interface {
	// IssueSecret stores s (CreatedAt defaults to now). With voidOthers,
	// the owner's other usable secrets of the same purpose are voided in
	// the same transaction (a newer link voids the older). EConflict if
	// the hash is taken.
	IssueSecret(ctx context.Context, s OneTimeSecret, voidOthers bool) error
	// LookupSecret returns the usable secret with that purpose and hash
	// at now, without consuming it. ENotFound if there is none (unknown,
	// used, voided, expired or out of attempts).
	LookupSecret(ctx context.Context, purpose SecretPurpose, hash string, now time.Time) (OneTimeSecret, error)
	// ConsumeSecret uses the secret up and returns it as it was. Of any
	// number of concurrent calls for one secret, exactly one succeeds;
	// the others, and calls for a secret that is not usable at now, get
	// ENotFound.
	ConsumeSecret(ctx context.Context, purpose SecretPurpose, hash string, now time.Time) (OneTimeSecret, error)
	// FailSecretAttempt counts one wrong guess against a usable secret and
	// returns how many attempts are left (0: it is dead). ENotFound if it
	// is not usable.
	FailSecretAttempt(ctx context.Context, purpose SecretPurpose, hash string, now time.Time) (int, error)
	// VoidSecrets voids the owner's usable secrets of a purpose and
	// returns how many it voided.
	VoidSecrets(ctx context.Context, purpose SecretPurpose, ownerID string, now time.Time) (int, error)
}
