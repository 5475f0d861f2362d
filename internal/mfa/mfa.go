// Package mfa is Gatehouse's second factors (CONTRACT §6): TOTP (RFC
// 6238) and recovery codes. What the anchors get wrong is made impossible
// here by construction:
//
//   - a TOTP code is accepted once: the step it belongs to must be after
//     the last step used, decided by one conditional UPDATE, so the same
//     code sent to two replicas at once logs in once, and the code that
//     confirmed enrolment cannot log in;
//   - recovery codes are one-time secrets: stored as SHA-256 hashes (each
//     has 100 random bits), each consumed exactly once under concurrency;
//   - the TOTP secret is sealed at rest when an encryption key is set;
//   - a right password alone never yields a token (package login asks
//     for the second step), so no downstream service has to check a
//     claim to tell a half-authenticated token from a whole one.
package mfa

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/totp"
)

// Store is what second factors need of the database.
type Store interface {
	UserByID(ctx context.Context, id string) (auth.User, error)
	SetPendingTOTP(ctx context.Context, userID, secret string, fx auth.Effects) error
	TOTPOf(ctx context.Context, userID string) (auth.TOTP, error)
	ConfirmTOTP(ctx context.Context, userID string, step int64, end auth.EndSessions, until time.Time, fx auth.Effects) ([]auth.Revocation, error)
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	DisableMFA(ctx context.Context, userID string, end auth.EndSessions, until time.Time, fx auth.Effects) ([]auth.Revocation, error)
	CountSecrets(ctx context.Context, purpose auth.SecretPurpose, ownerID string, now time.Time) (int, error)
	ConsumeSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error)
	UpdateUser(ctx context.Context, id string, u auth.UserUpdate, end auth.EndSessions, until time.Time, fx auth.Effects) (auth.User, []auth.Revocation, error)
}

// Passwords checks a user's current password before a sensitive change,
// throttled and audited (accounts.Service).
type Passwords interface {
	CheckCurrent(ctx context.Context, u auth.User, current string, o auth.Origin) error
}

// Notices composes the notice that a second factor was turned on or off
// (accounts.Service).
type Notices interface {
	NoticeMFA(ctx context.Context, u auth.User, on bool, o auth.Origin) []auth.Mail
}

// Denylist takes the revocations of the sessions a change ended.
type Denylist interface {
	Record(ctx context.Context, recs ...auth.Revocation)
}

// Sealer seals TOTP secrets at rest (seal.Sealer).
type Sealer = seal.Sealing

// Config wires a Service. Store, Passwords and Denylist are required.
type Config struct {
	Store     Store
	Passwords Passwords
	Notices   Notices // nil: no notices
	Denylist  Denylist
	Sealer    Sealer // nil: secrets are stored unsealed
	// Issuer names the account in authenticator apps (the product name).
	Issuer    string
	AccessTTL time.Duration
	Audit     *audit.Recorder
	// Guesses counts wrong codes per user (nil: not counted).
	Guesses *Guesses
	// Changed, when set, is told of each user whose second factor was
	// turned on or off here (accounts.Service.Forget).
	Changed func(userID string)
	Now     func() time.Time
}

// Service manages second factors. It is safe for concurrent use.
type Service struct {
	c Config
}

// New returns a Service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Issuer == "" {
		c.Issuer = "Gatehouse"
	}
	return &Service{c: c}
}

// The answers of the second-factor calls.
var (
	ErrBadCode   = login.ErrBadCode
	errNoPending = auth.Reasonf(auth.EConflict, "no_pending_enrollment", "No enrolment is waiting for confirmation; start one with POST /me/mfa/totp")
	errNotOn     = auth.Reasonf(auth.EConflict, "mfa_not_enabled", "Two-factor authentication is not on")
	errReauth    = auth.Reasonf(auth.EForbidden, "reauthentication_required", "Log in again (less than 10 minutes ago) to change second factors")
)

// reauthWindow is how recent a login must be for a user without a
// password to enrol.
const reauthWindow = 10 * time.Minute

// RecoveryCodes is how many codes a set has.
const RecoveryCodes = 10

// Enrollment is a pending TOTP factor, shown once.
type Enrollment struct {
	Secret string // base32, for typing into an app
	URI    string // otpauth://
	QRSVG  string // the URI as a QR code
}

// Enroll starts (or restarts) a TOTP enrolment after checking the
// caller's password (a user without one needs a login under 10 minutes
// old): a new secret, pending until Confirm. 409 mfa_already_enabled.
func (s *Service) Enroll(ctx context.Context, p auth.Principal, current string, o auth.Origin) (Enrollment, error) {
	u, err := s.c.Store.UserByID(ctx, p.UserID)
	if err != nil {
		return Enrollment{}, err
	}
	if u.MFAEnabled {
		return Enrollment{}, auth.ErrMFAAlreadyEnabled
	}
	if err := s.reauthenticate(ctx, u, p, current, o); err != nil {
		return Enrollment{}, err
	}
	secret := totp.NewSecret()
	stored, err := s.seal(u.ID, secret)
	if err != nil {
		return Enrollment{}, err
	}
	fx := s.c.Audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditMFAEnrollStarted, SessionID: p.SessionID})
	if err := s.c.Store.SetPendingTOTP(ctx, u.ID, stored, fx); err != nil {
		return Enrollment{}, err
	}
	uri := totp.URI(s.c.Issuer, u.Username, secret)
	qr, err := totp.QRSVG(uri)
	if err != nil {
		return Enrollment{}, fmt.Errorf("mfa: QR code: %w", err)
	}
	return Enrollment{Secret: totp.Encode(secret), URI: uri, QRSVG: qr}, nil
}

// reauthenticate checks the current password, or for a user without one
// (signed in through an identity provider) that the login is recent.
func (s *Service) reauthenticate(ctx context.Context, u auth.User, p auth.Principal, current string, o auth.Origin) error {
	if u.PasswordHash == "" {
		if p.AuthTime.IsZero() || s.c.Now().Sub(p.AuthTime) > reauthWindow {
			return errReauth
		}
		return nil
	}
	return s.c.Passwords.CheckCurrent(ctx, u, current, o)
}

// Confirm turns the pending factor on with a code from it, and returns
// the first set of recovery codes, shown this once. Every other session
// of the user ends (a thief signed in with the password alone is thrown
// out); this one goes on. The confirming code's step counts as used.
func (s *Service) Confirm(ctx context.Context, p auth.Principal, code string, o auth.Origin) ([]string, error) {
	t, err := s.c.Store.TOTPOf(ctx, p.UserID)
	if auth.ErrorCode(err) == auth.ENotFound || err == nil && t.Confirmed() {
		return nil, errNoPending
	}
	if err != nil {
		return nil, err
	}
	secret, err := s.open(p.UserID, t.Secret)
	if err != nil {
		return nil, err
	}
	u, err := s.c.Store.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	done, err := s.guard(ctx, u, "confirm", o)
	if err != nil {
		return nil, err
	}
	step, ok := totp.Match(secret, code, s.c.Now())
	done(ok)
	if !ok {
		return nil, ErrBadCode
	}
	codes, secrets := newRecoveryCodes(u.ID, s.c.Now())
	fx := s.c.Audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditMFAEnabled, SessionID: p.SessionID})
	fx.Void = []auth.SecretPurpose{auth.PurposeRecoveryCode, auth.PurposeLoginAttempt}
	fx.Secrets = secrets
	fx.Mail = s.notice(ctx, u, true, o)
	recs, err := s.c.Store.ConfirmTOTP(ctx, u.ID, step, auth.EndSessions{All: true, Except: p.SessionID}, s.until(), fx)
	s.changed(u.ID)
	if auth.ErrorCode(err) == auth.ENotFound {
		return nil, errNoPending // a concurrent confirmation won
	}
	if err != nil {
		return nil, err
	}
	s.c.Denylist.Record(ctx, recs...)
	return codes, nil
}

// Status says whether TOTP is on and how many recovery codes are left.
type Status struct {
	TOTP          bool
	RecoveryCodes int
}

// StatusOf returns the caller's second factors.
func (s *Service) StatusOf(ctx context.Context, userID string) (Status, error) {
	u, err := s.c.Store.UserByID(ctx, userID)
	if err != nil {
		return Status{}, err
	}
	if !u.MFAEnabled {
		return Status{}, nil
	}
	n, err := s.c.Store.CountSecrets(ctx, auth.PurposeRecoveryCode, userID, s.c.Now())
	return Status{TOTP: true, RecoveryCodes: n}, err
}

// RegenerateCodes replaces the recovery codes after a current TOTP code
// (not a recovery code: a stolen code must not mint ten more).
func (s *Service) RegenerateCodes(ctx context.Context, p auth.Principal, code string, o auth.Origin) ([]string, error) {
	u, err := s.c.Store.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if !u.MFAEnabled {
		return nil, errNotOn
	}
	done, err := s.guard(ctx, u, "recovery_codes", o)
	if err != nil {
		return nil, err
	}
	ok, err := s.checkTOTP(ctx, u, code)
	if err != nil {
		return nil, err
	}
	done(ok)
	if !ok {
		return nil, ErrBadCode
	}
	codes, secrets := newRecoveryCodes(u.ID, s.c.Now())
	fx := s.c.Audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditMFARecoveryRenewed, SessionID: p.SessionID})
	fx.Void, fx.Secrets = []auth.SecretPurpose{auth.PurposeRecoveryCode}, secrets
	if err := s.issue(ctx, u, fx); err != nil {
		return nil, err
	}
	return codes, nil
}

// Disable turns the caller's second factor off after their password and
// a code (TOTP or recovery); the recovery codes go with it. A user
// without a password gives the code alone.
func (s *Service) Disable(ctx context.Context, p auth.Principal, current, code string, o auth.Origin) error {
	u, err := s.c.Store.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return errNotOn
	}
	if u.PasswordHash != "" {
		if err := s.c.Passwords.CheckCurrent(ctx, u, current, o); err != nil {
			return err
		}
	}
	done, err := s.guard(ctx, u, "disable", o)
	if err != nil {
		return err
	}
	ok, err := s.checkTOTP(ctx, u, code)
	if err == nil && !ok {
		ok, err = s.useRecoveryCode(ctx, u, code)
	}
	if err != nil {
		return err
	}
	done(ok)
	if !ok {
		return ErrBadCode
	}
	fx := s.c.Audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditMFADisabled, SessionID: p.SessionID})
	fx.Mail = s.notice(ctx, u, false, o)
	_, err = s.c.Store.DisableMFA(ctx, u.ID, auth.EndSessions{}, time.Time{}, fx)
	s.changed(u.ID)
	return err
}

// Reset turns a user's second factor off at an administrator's word (the
// user lost their device) and ends every session of theirs. ENotFound for
// an unknown user or one without a second factor.
func (s *Service) Reset(ctx context.Context, userID string, o auth.Origin) error {
	u, err := s.c.Store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	fx := s.c.Audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditMFAReset})
	fx.Mail = s.notice(ctx, u, false, o)
	recs, err := s.c.Store.DisableMFA(ctx, u.ID, auth.EndSessions{All: true}, s.until(), fx)
	s.changed(u.ID)
	if err != nil {
		return err
	}
	s.c.Denylist.Record(ctx, recs...)
	return nil
}

func (s *Service) changed(userID string) {
	if s.c.Changed != nil {
		s.c.Changed(userID)
	}
}

func (s *Service) until() time.Time { return revocation.Until(s.c.Now(), s.c.AccessTTL) }

func (s *Service) notice(ctx context.Context, u auth.User, on bool, o auth.Origin) []auth.Mail {
	if s.c.Notices == nil {
		return nil
	}
	return s.c.Notices.NoticeMFA(ctx, u, on, o)
}

// issue stores fx (a new set of codes) as a change of u that changes
// nothing else and ends no session.
func (s *Service) issue(ctx context.Context, u auth.User, fx auth.Effects) error {
	_, _, err := s.c.Store.UpdateUser(ctx, u.ID, auth.UserUpdate{}, auth.EndSessions{}, time.Time{}, fx)
	return err
}

// checkTOTP verifies a TOTP code of u's confirmed factor and uses its
// step up: false for a wrong code or one whose step was already used.
func (s *Service) checkTOTP(ctx context.Context, u auth.User, code string) (bool, error) {
	t, err := s.c.Store.TOTPOf(ctx, u.ID)
	if auth.ErrorCode(err) == auth.ENotFound || err == nil && !t.Confirmed() {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	secret, err := s.open(u.ID, t.Secret)
	if err != nil {
		return false, err
	}
	step, ok := totp.Match(secret, code, s.c.Now())
	if !ok || step <= t.LastStep {
		return false, nil
	}
	return s.c.Store.UseTOTPStep(ctx, u.ID, step)
}

// useRecoveryCode spends one of u's recovery codes.
func (s *Service) useRecoveryCode(ctx context.Context, u auth.User, code string) (bool, error) {
	norm, ok := normalizeRecoveryCode(code)
	if !ok {
		return false, nil
	}
	_, err := s.c.Store.ConsumeSecret(ctx, auth.PurposeRecoveryCode, recoveryHash(u.ID, norm), s.c.Now())
	if auth.ErrorCode(err) == auth.ENotFound {
		return false, nil
	}
	return err == nil, err
}

// The recovery codes' form: 20 base32 characters (100 random bits), shown
// in groups of four: "k3v7-q2mx-8d4w-jp5n-a6rt".
var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const recoveryLen = 20

func newRecoveryCodes(userID string, now time.Time) ([]string, []auth.OneTimeSecret) {
	codes := make([]string, RecoveryCodes)
	secrets := make([]auth.OneTimeSecret, RecoveryCodes)
	for i := range codes {
		b := make([]byte, 13) // 104 bits, of which the first 100 are shown
		_, _ = rand.Read(b)
		raw := recoveryEncoding.EncodeToString(b)[:recoveryLen]
		var groups []string
		for j := 0; j < recoveryLen; j += 4 {
			groups = append(groups, raw[j:j+4])
		}
		codes[i] = strings.Join(groups, "-")
		secrets[i] = auth.OneTimeSecret{
			Hash: recoveryHash(userID, raw), Purpose: auth.PurposeRecoveryCode, OwnerID: userID,
			CreatedAt: now, ExpiresAt: now.AddDate(100, 0, 0), AttemptsLeft: 1,
		}
	}
	return codes, secrets
}

// normalizeRecoveryCode accepts a code as shown, in any case, with or
// without its hyphens and spaces.
func normalizeRecoveryCode(code string) (string, bool) {
	if len(code) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		switch {
		case r == '-' || r == ' ':
		case r >= 'a' && r <= 'z' || r >= '2' && r <= '7':
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != recoveryLen {
		return "", false
	}
	return b.String(), true
}

// recoveryHash is how a recovery code is stored: SHA-256 over the user and
// the code (100 random bits need no slow hash; the user makes equal codes
// of two users differ, and the hash unique per purpose).
func recoveryHash(userID, code string) string { return token.HashSecret(userID + "\x00" + code) }

// secretAAD binds a sealed secret to its user.
func secretAAD(userID string) []byte { return []byte("gatehouse totp secret\x00" + userID) }

// plainPrefix starts a secret stored without an encryption key; a sealed
// one is stored as seal.SealText makes it.
const plainPrefix = "plain:"

func (s *Service) seal(userID string, secret []byte) (string, error) {
	if s.c.Sealer == nil {
		return plainPrefix + base64.RawStdEncoding.EncodeToString(secret), nil
	}
	text, err := seal.SealText(s.c.Sealer, secretAAD(userID), secret)
	if err != nil {
		return "", fmt.Errorf("mfa: seal the secret: %w", err)
	}
	return text, nil
}

var errSealedNoKey = errors.New("mfa: the TOTP secret is sealed and no GATEHOUSE_ENCRYPTION_KEY opens it")

func (s *Service) open(userID, stored string) ([]byte, error) {
	if enc, ok := strings.CutPrefix(stored, plainPrefix); ok {
		return base64.RawStdEncoding.DecodeString(enc)
	}
	blob, sealed, err := seal.TextBlob(stored)
	switch {
	case !sealed:
		return nil, errors.New("mfa: a stored TOTP secret of an unknown form")
	case err != nil:
		return nil, fmt.Errorf("mfa: the sealed secret: %w", err)
	case s.c.Sealer == nil:
		return nil, errSealedNoKey
	}
	secret, err := s.c.Sealer.Open(secretAAD(userID), blob)
	if err != nil {
		return nil, fmt.Errorf("mfa: open the secret: %w", err)
	}
	return secret, nil
}

// Factors are the second factors the login steps ask for: TOTP codes and
// recovery codes.
func (s *Service) Factors() []login.SecondFactor {
	return []login.SecondFactor{totpFactor{s}, recoveryFactor{s}}
}

type totpFactor struct{ s *Service }

func (totpFactor) Method() string { return "totp" }

func (totpFactor) Enrolled(_ context.Context, u auth.User) (bool, error) { return u.MFAEnabled, nil }

func (f totpFactor) Check(ctx context.Context, u auth.User, code string, _ auth.Origin) ([]string, bool, error) {
	ok, err := f.s.checkTOTP(ctx, u, code)
	return []string{auth.AMROTP, auth.AMRMFA}, ok, err
}

type recoveryFactor struct{ s *Service }

func (recoveryFactor) Method() string { return "recovery_code" }

func (recoveryFactor) Enrolled(_ context.Context, u auth.User) (bool, error) {
	return u.MFAEnabled, nil
}

func (f recoveryFactor) Check(ctx context.Context, u auth.User, code string, o auth.Origin) ([]string, bool, error) {
	ok, err := f.s.useRecoveryCode(ctx, u, code)
	if ok {
		f.s.c.Audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditMFARecoveryUsed, UserID: u.ID, Username: u.Username})
	}
	return []string{auth.AMRMFA, auth.AMRRecovery}, ok, err
}

// ResealStore lists and replaces stored TOTP secrets (the store).
type ResealStore interface {
	TOTPFactors(ctx context.Context) ([]auth.TOTP, error)
	ReplaceTOTPSecret(ctx context.Context, userID, from, to string) (bool, error)
}

// ErrNoEncryptionKey refuses to reseal without a key to seal with.
var ErrNoEncryptionKey = errors.New("mfa: reseal needs GATEHOUSE_ENCRYPTION_KEY")

// Reseal seals every stored TOTP secret with the current encryption key:
// those stored before a key was set, and those sealed with a key now in
// GATEHOUSE_ENCRYPTION_KEY_OLD. It returns how many it resealed and how
// many already were. A secret changed meanwhile (a new enrolment) is left
// to its new writer, who sealed it.
func (s *Service) Reseal(ctx context.Context, st ResealStore) (resealed, unchanged int, err error) {
	sealer, ok := s.c.Sealer.(interface{ SealedWithPrimary([]byte) bool })
	if s.c.Sealer == nil || !ok {
		return 0, 0, ErrNoEncryptionKey
	}
	factors, err := st.TOTPFactors(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range factors {
		if blob, sealed, err := seal.TextBlob(f.Secret); sealed && err == nil && sealer.SealedWithPrimary(blob) {
			unchanged++
			continue
		}
		secret, err := s.open(f.UserID, f.Secret)
		if err != nil {
			return resealed, unchanged, fmt.Errorf("mfa: reseal the secret of user %s: %w", f.UserID, err)
		}
		to, err := s.seal(f.UserID, secret)
		if err != nil {
			return resealed, unchanged, err
		}
		done, err := st.ReplaceTOTPSecret(ctx, f.UserID, f.Secret, to)
		if err != nil {
			return resealed, unchanged, err
		}
		if done {
			resealed++
		}
	}
	return resealed, unchanged, nil
}
