package auth

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxEmailLen is the longest address Gatehouse stores, in bytes: the
// RFC 5321 limit of a forward path (254 characters of address).
const MaxEmailLen = 254

// maxLocalPartLen is RFC 5321's limit on the part before the @.
const maxLocalPartLen = 64

// ErrEmailTaken refuses an address that another account uses.
var ErrEmailTaken = Reasonf(EConflict, "email_taken", "Email address already in use")

// ValidateEmail checks that addr is one bare RFC 5322 address (no display
// name, no comments, no group), at most MaxEmailLen bytes with a local
// part of at most 64, and a domain of dot-separated labels, and returns it
// trimmed of surrounding spaces. EInvalid otherwise.
func ValidateEmail(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	bad := Errorf(EInvalid, "email must be one address such as name@example.com, at most %d characters", MaxEmailLen)
	if addr == "" || len(addr) > MaxEmailLen || !utf8.ValidString(addr) || !StorableText(addr) || !plainRunes(addr) {
		return "", bad
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr {
		return "", bad
	}
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr[:at], addr[at+1:]
	if local == "" || len(local) > maxLocalPartLen || !validDomain(domain) {
		return "", bad
	}
	return addr, nil
}

// validDomain accepts a host name of at least two labels, each 1–63 bytes
// of letters, digits and inner hyphens (Unicode letters allowed, for
// internationalized domains written in Unicode). Address literals
// ("[192.0.2.1]") are refused: no account needs one.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r < 0x80 && r != '-' && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// plainRunes accepts, beyond ASCII, only letters, marks and digits: no
// format characters (bidirectional overrides, zero-width joiners), spaces
// or symbols that would make one address look like another.
func plainRunes(s string) bool {
	for _, r := range s {
		if r >= 0x80 && !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// EmailKey returns the form under which addresses are compared and kept
// unique: the whole address case-folded. (Providers that ignore case in
// the local part are the rule; one that does not cannot be told apart by
// a server, and two accounts differing only in case would be a trap.)
func EmailKey(addr string) string {
	return foldCase(strings.TrimSpace(addr))
}

// Redacted returns addr with most of its local part hidden
// ("a***@example.com"), for logs and the CLI's outbox listing.
func Redacted(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 1 {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(addr)
	return string(r) + "***" + addr[at:]
}
