package auth

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Role names a user's role. Gatehouse knows two; roles are plain strings so
// that deployments may add their own.
type Role string

// The built-in roles.
const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// User is an account that can log in.
type User struct {
	ID           string
	Username     string // as the user typed it at creation, NFKC-normalized
	Role         Role
	Active       bool
	PasswordHash string // PHC string (argon2id) or a bcrypt hash
	// Email is the account's address ("" for none), as given; unique by
	// EmailKey. EmailVerified says its owner proved they receive mail
	// there (or an administrator vouched for it).
	Email         string
	EmailVerified bool
	MFAEnabled    bool // a second factor is on: a confirmed TOTP factor (MFAStore)
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// UserUpdate lists the fields of a user to change; nil means unchanged.
type UserUpdate struct {
	Role         *Role
	Active       *bool
	PasswordHash *string
	// Email sets the address ("" removes it); a new address is
	// unverified unless EmailVerified says otherwise. EConflict with
	// ErrEmailTaken if another account uses it.
	Email         *string
	EmailVerified *bool
	// EmailWas, when set, applies the update only while the account's
	// address is still this one (compared by EmailKey); otherwise the
	// store answers ENotFound. A link sent to an address must not act
	// on an account that has moved on to another.
	EmailWas *string
	// KeepAnAdmin refuses, with ErrLastAdmin, a change that would leave
	// no active administrator (the store decides, under a lock, so that
	// two administrators demoting each other at once cannot both win).
	KeepAnAdmin bool
}

// ErrLastAdmin refuses to disable, demote or delete the last active
// administrator, who would lock everyone out of the admin API.
var ErrLastAdmin = Reasonf(EConflict, "last_admin", "The last active administrator cannot be disabled, demoted or deleted")

// Empty reports whether the update changes nothing.
func (u UserUpdate) Empty() bool {
	return u.Role == nil && u.Active == nil && u.PasswordHash == nil && u.Email == nil && u.EmailVerified == nil
}

// MaxUsernameLen is the longest username, in characters.
const MaxUsernameLen = 64

var folder = cases.Fold()

// foldCase is Unicode full case folding, as keys need it: folded twice,
// a string folds the same as once. golang.org/x/text's Fold turns
// Cherokee capitals into small letters and small letters into capitals
// (Unicode folds both to the capitals), so "Ꮝ" and "ꮝ" swapped places on
// every fold; the small letters are mapped back to the capitals here.
func foldCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xAB70 && r <= 0xABBF: // Cherokee small letters A to MV
			return r - 0xAB70 + 0x13A0
		case r >= 0x13F8 && r <= 0x13FD: // Cherokee small letters YE to MV
			return r - 8
		}
		return r
	}, folder.String(s))
}

// NormalizeUsername returns the NFKC form of name, which is how it is stored
// and shown.
func NormalizeUsername(name string) string {
	return norm.NFKC.String(name)
}

// UsernameKey returns the form under which usernames are compared and kept
// unique: NFKC-normalized and case-folded.
func UsernameKey(name string) string {
	return norm.NFKC.String(foldCase(norm.NFKC.String(name)))
}

// ValidateUsername checks the signup rule of the contract: 1–64 characters,
// each a letter, a digit or one of "._-@"; and the rules against
// impersonation: not a UUID, letters of one script (see singleScript). It
// checks the normalized form. A name that looks like a taken one
// (UsernameSkeleton) is refused by the store, with EConflict.
func ValidateUsername(name string) error {
	name = NormalizeUsername(name)
	n := utf8.RuneCountInString(name)
	if n < 1 || n > MaxUsernameLen {
		return Errorf(EInvalid, "username must be 1 to %d characters", MaxUsernameLen)
	}
	for _, r := range name {
		if !usernameRune(r) {
			return Errorf(EInvalid, "username may contain only letters, digits and . _ - @")
		}
	}
	return checkUsernameShape(name)
}

func usernameRune(r rune) bool {
	if strings.ContainsRune("._-@", r) {
		return true
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// ValidateRole checks that a role is a non-empty lower-case word.
func ValidateRole(r Role) error {
	if r == "" || len(r) > 32 {
		return Errorf(EInvalid, "role must be 1 to 32 characters")
	}
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return Errorf(EInvalid, "role may contain only a-z, 0-9, _ and -")
		}
	}
	return nil
}
