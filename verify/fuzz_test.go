package verify

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzVerify checks that no input panics, that every failure carries a
// sentinel, and that nothing verifies unless its signed part (header and
// payload) is that of a token the trusted keys really signed. (The
// signature itself may differ: ECDSA signatures are malleable.)
func FuzzVerify(f *testing.F) {
	fx := loadFixture()
	signed := map[string]bool{}
	for _, alg := range allAlgs {
		tok := good(alg)
		signed[signingInput(tok)] = true
		f.Add(tok)
	}
	for _, a := range allAttacks(fx) {
		if len(a.token) <= MaxTokenSize {
			f.Add(a.token)
		}
	}
	v := newVerifier(f, nil)
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token)
		if err != nil {
			if claims != nil || !matchesASentinel(err) {
				t.Fatalf("%q: claims %v, error %v", token, claims, err)
			}
			return
		}
		if claims == nil || !signed[signingInput(token)] {
			t.Fatalf("verified a token nobody signed: %q", token)
		}
	})
}

func signingInput(tok string) string {
	if i := strings.LastIndexByte(tok, '.'); i >= 0 {
		return tok[:i]
	}
	return tok
}

func matchesASentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
