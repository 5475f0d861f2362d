package auth

import (
	"context"
	"time"
)

// PurposeRecoveryCode: one of a user's recovery codes (CONTRACT §6),
// each a one-time secret of one attempt that lives until used or replaced.
const PurposeRecoveryCode SecretPurpose = "recovery_code"

// TOTP is a user's TOTP second factor as the store keeps it.
type TOTP struct {
	UserID string
	// Secret is the stored form of the shared secret: sealed when an
	// encryption key is configured (see package mfa), never the base32
	// text a user sees.
	Secret string
	// ConfirmedAt is when enrolment was confirmed; zero while pending
	// (the factor is not on until then).
	ConfirmedAt time.Time
	// LastStep is the last 30-second step whose code was accepted (-1
	// for none): a step is accepted at most once, and never one before
	// it.
	LastStep  int64
	CreatedAt time.Time
}

// Confirmed reports whether the factor is on.
func (t TOTP) Confirmed() bool { return !t.ConfirmedAt.IsZero() }

// ErrMFAAlreadyEnabled refuses a new enrolment of a user whose second
// factor is on.
var ErrMFAAlreadyEnabled = Reasonf(EConflict, "mfa_already_enabled", "Two-factor authentication is already on")

// MFAStore keeps second factors. User.MFAEnabled follows a confirmed
// TOTP factor, in the same transaction.
type MFAStore interface {
	// SetPendingTOTP stores a new, unconfirmed secret for the user,
	// replacing an unconfirmed one, with fx. ErrMFAAlreadyEnabled when
	// the user's factor is on; ENotFound for an unknown user.
	SetPendingTOTP(ctx context.Context, userID, secret string, fx Effects) error
	// TOTPOf returns the user's factor, pending or confirmed. ENotFound.
	TOTPOf(ctx context.Context, userID string) (TOTP, error)
	// ConfirmTOTP turns the pending factor on, with step as its last used
	// step, and ends the sessions that end selects (each with a
	// revocation until until), with fx (the recovery codes, the audit
	// event, the notice). Of concurrent calls, one wins; ENotFound when
	// nothing is pending.
	ConfirmTOTP(ctx context.Context, userID string, step int64, end EndSessions, until time.Time, fx Effects) ([]Revocation, error)
	// UseTOTPStep records step as used if it is after the last used one,
	// with one conditional update, and reports whether it did: of any
	// number of concurrent calls with one step, across processes, one
	// gets true.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// DisableMFA removes the user's factor (pending or on) and their
	// recovery codes, and ends the sessions that end selects, with fx.
	// ENotFound when the user has none.
	DisableMFA(ctx context.Context, userID string, end EndSessions, until time.Time, fx Effects) ([]Revocation, error)
	// CountSecrets returns how many usable secrets of purpose owner has
	// at now (recovery codes left).
	CountSecrets(ctx context.Context, purpose SecretPurpose, ownerID string, now time.Time) (int, error)
}
