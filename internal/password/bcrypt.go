package password

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

const (
	// bcryptLen is the length of "$2b$12$" + 22 characters of salt + 31 of hash.
	bcryptLen = 60
	// bcryptMaxPassword is how much of a password bcrypt looks at.
	bcryptMaxPassword = 72
	// maxBcryptCost refuses stored hashes that would take seconds (cost 16
	// is 4096 times passlib's minimum of 4, about 4 s on current hardware).
	maxBcryptCost  = 16
	bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// isBcrypt reports whether s claims to be a bcrypt hash.
func isBcrypt(s string) bool { return strings.HasPrefix(s, "$2") }

// checkBcrypt validates a bcrypt hash more strictly than x/crypto does (it
// accepts $2x$, the marker of crypt_blowfish's sign-extension bug, and costs
// such as "+4") and returns its cost.
func checkBcrypt(s string) (int, error) {
	if len(s) != bcryptLen {
		return 0, malformed("bcrypt hash of wrong length")
	}
	switch s[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return 0, malformed("unsupported bcrypt variant")
	}
	if !isDigit(s[4]) || !isDigit(s[5]) || s[6] != '$' {
		return 0, malformed("bad bcrypt cost")
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return 0, malformed(fmt.Sprintf("bcrypt cost must be between %d and %d", bcrypt.MinCost, maxBcryptCost))
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return 0, malformed("bad character in bcrypt hash")
		}
	}
	return cost, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// compareBcrypt compares password with a checked bcrypt hash. x/crypto
// compares in constant time and rebuilds the hash with the stored prefix, so
// $2a$, $2b$ and $2y$ need no normalising. A password longer than bcrypt's
// 72 bytes is truncated, as bcrypt itself does; ErrPasswordTooLong, should a
// later x/crypto return it, counts as a mismatch.
func compareBcrypt(encoded, password string) (bool, error) {
	pw := []byte(password)
	if len(pw) > bcryptMaxPassword {
		pw = pw[:bcryptMaxPassword]
	}
	err := bcrypt.CompareHashAndPassword([]byte(encoded), pw)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
		return false, nil
	}
	return false, malformed(err.Error())
}
