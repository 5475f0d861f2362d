package token

import (
	"crypto/sha256"
	"encoding/hex"
)

// RefreshTokenLen is the length of a refresh token: 32 random bytes in
// unpadded base64url.
const RefreshTokenLen = 43

// NewRefreshToken returns a fresh opaque refresh token: 256 bits from
// crypto/rand, base64url without padding (RefreshTokenLen characters). The
// error is always nil (crypto/rand cannot fail since Go 1.24); it is kept
// so that the signature need not change for another source.
func NewRefreshToken() (string, error) {
	return randomString(32), nil
}

// HashRefreshToken returns hex(SHA-256(tok)), the only form of a refresh
// token that is stored. A plain hash suffices: the token has 256 bits of
// entropy, so it cannot be guessed from its hash.
func HashRefreshToken(tok string) string { return HashSecret(tok) }

// HashSecret returns the SHA-256 of a high-entropy secret (a refresh
// token, a link token, a pending login), hex: how such secrets are stored
// and looked up. A fast hash is right for 128 or more random bits; a
// password needs internal/password.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// LooksLikeRefreshToken reports whether s has the shape of a refresh token:
// exactly RefreshTokenLen characters of the base64url alphabet, in the
// canonical encoding (the last character carries no stray bits). A JWT
// (which has dots) never does, so neither kind can pass for the other.
func LooksLikeRefreshToken(s string) bool {
	if len(s) != RefreshTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if base64Value(s[i]) < 0 {
			return false
		}
	}
	// 43 characters carry 258 bits; the last 2 must be zero.
	return base64Value(s[len(s)-1])&3 == 0
}

// base64Value returns the 6-bit value of a base64url character, or -1.
func base64Value(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// NewSecret returns a fresh one-time secret of 256 bits (a link token, a
// pending login), in the refresh token's form: RefreshTokenLen characters
// of unpadded base64url. Store only HashSecret of it.
func NewSecret() string { return randomString(32) }

// LooksLikeSecret reports whether s has the shape NewSecret gives; what
// does not is refused before any lookup.
func LooksLikeSecret(s string) bool { return LooksLikeRefreshToken(s) }
