package config

import (
	"fmt"
	"strings"
)

// validateRevocationsToken refuses a feed secret that is short, a known
// placeholder, visibly non-random, or not sendable as a bearer token.
func (c Config) validateRevocationsToken() error {
	s := c.RevocationsToken
	switch {
	case s == "":
		return nil
	case len(s) < MinSecretLen:
		return fmt.Errorf("GATEHOUSE_REVOCATIONS_TOKEN is %d bytes, shorter than %d: %s", len(s), MinSecretLen, secretHint)
	case isPlaceholder(s):
		return fmt.Errorf("GATEHOUSE_REVOCATIONS_TOKEN is a well-known placeholder: %s", secretHint)
	case distinctBytes(s) < 10:
		return fmt.Errorf("GATEHOUSE_REVOCATIONS_TOKEN has too few distinct characters to be random: %s", secretHint)
	case !isToken68(s):
		return fmt.Errorf("GATEHOUSE_REVOCATIONS_TOKEN must be letters, digits and -._~+/ (a bearer token): %s", secretHint)
	}
	return nil
}

// isToken68 reports whether s is a token68 (RFC 7235), the form of a
// bearer token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for _, c := range []byte(body) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}
