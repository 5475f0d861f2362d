package config

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// MinSecretLen is the shortest HS256 secret accepted, in bytes.
const MinSecretLen = 32

const secretHint = "generate one with: openssl rand -hex 32"

// placeholders are secrets copied from tutorials, docs and examples. Any of
// them in production means anyone can mint tokens.
var placeholders = []string{
	"your-super-secret-key-change-this-in-production",
	"your-256-bit-secret",
	"your-secret-key",
	"your_secret_key",
	"secret",
	"changeme",
	"change-me",
	"change-this",
	"supersecret",
	"super-secret",
	"mysecret",
	"my-secret",
	"jwt-secret",
	"jwt_secret",
	"secret-key",
	"secret_key",
	"secretkey",
	"password",
	"replace-me",
	"example",
	"test",
	"development",
}

// ValidateSecret refuses an HS256 secret that is short, a known placeholder,
// padded with white space, or visibly low in entropy (see estimateBits).
func ValidateSecret(s string) error {
	if len(s) < MinSecretLen {
		return fmt.Errorf("JWT_SECRET_KEY is %d bytes, shorter than %d: %s", len(s), MinSecretLen, secretHint)
	}
	if isPlaceholder(s) {
		return fmt.Errorf("JWT_SECRET_KEY is a well-known placeholder, so anyone could sign tokens: %s", secretHint)
	}
	if strings.TrimFunc(s, unicode.IsSpace) != s {
		return fmt.Errorf("JWT_SECRET_KEY begins or ends with white space, which other services reading it would likely drop: remove it, or %s", secretHint)
	}
	if distinctBytes(s) < 10 {
		return fmt.Errorf("JWT_SECRET_KEY has too few distinct characters to be random: %s", secretHint)
	}
	if bits := estimateBits(s); bits < MinSecretBits {
		return fmt.Errorf("JWT_SECRET_KEY looks like a pattern, not random (about %.0f bits of entropy, want %d): %s", bits, MinSecretBits, secretHint)
	}
	return nil
}

func isPlaceholder(s string) bool {
	lower := strings.ToLower(s)
	if slices.Contains(placeholders, lower) {
		return true
	}
	for _, marker := range []string{"change-this", "change_this", "changeme", "change-me", "replace-me"} {
		if strings.Contains(lower, marker) {
			return true
		}
	}
	return false
}

func distinctBytes(s string) int {
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			n++
		}
	}
	return n
}

func (c Config) validateSigning() error {
	switch c.SigningAlg {
	case "ES256", "EdDSA", "RS256":
		return nil
	case "HS256":
		if c.JWTSecret == "" {
			return fmt.Errorf("GATEHOUSE_SIGNING_ALG=HS256 needs JWT_SECRET_KEY: %s", secretHint)
		}
		return ValidateSecret(c.JWTSecret)
	}
	return fmt.Errorf("GATEHOUSE_SIGNING_ALG=%q is not supported: use ES256 (default), EdDSA, RS256 or HS256", c.SigningAlg)
}
