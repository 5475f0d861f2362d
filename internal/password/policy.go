package password

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// The password policy's bounds, after NIST SP 800-63B §3.1.1.2: at least 8
// characters, long passphrases welcome, no composition rules.
const (
	MinChars = 8    // characters (Unicode code points), not bytes
	MaxBytes = 1024 // bytes of UTF-8
)

// commonPasswords is a list of the most used passwords of 8 characters or
// more, lower-cased, sorted, one per line (see common-passwords.LICENSE).
//
//go:embed common-passwords.txt
var commonPasswords string

// commonList splits the embedded list on first use. The strings share the
// embedded text, so the list costs a slice header per entry.
var commonList = sync.OnceValue(func() []string {
	return strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
})

// IsCommon reports whether password, compared without regard to case, is
// on the list of common passwords shipped in the binary.
func IsCommon(password string) bool {
	if len(password) > 64 {
		return false // the list holds nothing this long
	}
	_, found := slices.BinarySearch(commonList(), strings.ToLower(password))
	return found
}

// ValidatePolicy checks a new password against the password policy and
// returns ErrTooShort, ErrTooLong, ErrCommon or nil. It counts characters as
// they come, without normalising them. Verify does not apply the policy, so
// that passwords set under an older policy still work.
func ValidatePolicy(password string) error {
	if len(password) > MaxBytes {
		return ErrTooLong
	}
	if utf8.RuneCountInString(password) < MinChars {
		return ErrTooShort
	}
	if IsCommon(password) {
		return ErrCommon
	}
	return nil
}
