package password

import "unicode/utf8"

// The password policy's bounds.
const (
	MinChars = 8    // characters (Unicode code points), not bytes
	MaxBytes = 1024 // bytes of UTF-8
)

// ValidatePolicy checks a new password against the password policy and
// returns ErrTooShort, ErrTooLong or nil. It counts characters as they come,
// without normalising them. Verify does not apply the policy, so that
// passwords set under an older policy still work.
func ValidatePolicy(password string) error {
	if len(password) > MaxBytes {
		return ErrTooLong
	}
	if utf8.RuneCountInString(password) < MinChars {
		return ErrTooShort
	}
	// Seam for the next rule: reject common and breached passwords here
	// (return a new ErrCommon), keeping this function the only entry point.
	return nil
}
