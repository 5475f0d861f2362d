package auth

import (
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// This file checks identifiers and free text by their format before they
// reach a store, so that hostile input (a NUL byte, invalid UTF-8, control
// characters, megabytes) gets the same client error on every backend.

// ValidUserID reports whether id has the form of a user id: a UUID in the
// canonical lower-case, hyphenated form that the store writes. A string of
// any other form names no user.
func ValidUserID(id string) bool {
	if len(id) != 36 {
		return false
	}
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// opaqueIDLen is the length of a session id and of an access token's jti:
// 16 random bytes, base64url without padding.
const opaqueIDLen = 22

// ValidSessionID reports whether id has the form of a session id: 16 bytes
// in canonical base64url without padding (22 characters).
func ValidSessionID(id string) bool { return validOpaqueID(id) }

// ValidTokenID reports whether id has the form of an access token's jti,
// which is made like a session id.
func ValidTokenID(id string) bool { return validOpaqueID(id) }

func validOpaqueID(id string) bool {
	if len(id) != opaqueIDLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	return err == nil && len(b) == 16
}

// StorableText reports whether s is text that every store keeps as it is:
// valid UTF-8 without NUL bytes.
func StorableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// ValidateText checks a free-text value (a filter, a label): valid UTF-8,
// no control characters (NUL included), at most max bytes. EInvalid names
// the field.
func ValidateText(field, s string, max int) error {
	if len(s) > max {
		return Errorf(EInvalid, "%s must be at most %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return Errorf(EInvalid, "%s must be valid UTF-8", field)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return Errorf(EInvalid, "%s must not contain control characters", field)
	}
	return nil
}

// printableASCII reports whether every byte of s is printable ASCII: the
// common case of CleanText, checked without decoding runes.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// CleanText makes s fit to keep and show as descriptive metadata (a user
// agent): invalid UTF-8 and control characters become U+FFFD, and the
// result is cut at a character boundary to at most max bytes.
func CleanText(s string, max int) string {
	if len(s) <= max && (printableASCII(s) || utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
