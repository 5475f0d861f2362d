package config

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPatternedSecretsAreRefused(t *testing.T) {
	fill := func(s string, n int) string { return strings.Repeat(s, n/len(s)+1)[:n] }
	for name, s := range map[string]string{
		"repeated letters":       fill("abcdefghij", 32),
		"repeated letters, long": fill("abcdefghij", 64),
		"counting digits":        fill("0123456789", 40),
		"hex alphabet":           fill("0123456789abcdef", 64),
		"alphabet":               "abcdefghijklmnopqrstuvwxyz012345",
		"keyboard":               "qwertyuiopasdfghjklzxcvbnm1234567890",
		"a short word repeated":  fill("Gatehouse2024!", 48),
		"counting down":          fill("zyxwvutsrqponmlkjihgfedcba", 40),
		"a random stem repeated": fill("k3Q9xT2mZ7pW", 64),
	} {
		err := ValidateSecret(s)
		if err == nil {
			t.Errorf("%s: %q accepted (estimate %.0f bits)", name, s, estimateBits(s))
			continue
		}
		if !strings.Contains(err.Error(), "openssl rand") || strings.Contains(err.Error(), s) {
			t.Errorf("%s: error %q must say how to make a secret and not repeat it", name, err)
		}
	}
}

func TestPaddedSecretsAreRefused(t *testing.T) {
	for _, s := range []string{" " + goodSecret, goodSecret + " ", goodSecret + "\n", "\t" + goodSecret, goodSecret + "\r\n", "\u00a0" + goodSecret} {
		err := ValidateSecret(s)
		if err == nil || !strings.Contains(err.Error(), "white space") {
			t.Errorf("ValidateSecret(%q): %v, want a refusal naming the white space", s, err)
		}
		// Through the environment too: the variable is not trimmed on the way.
		if _, err := load(t, map[string]string{"JWT_SECRET_KEY": s}); err == nil || !strings.Contains(err.Error(), "white space") {
			t.Errorf("JWT_SECRET_KEY=%q: %v", s, err)
		}
	}
}

// Real secrets must never be refused: a fixed seed makes these thousands
// of `openssl rand -hex 32` and `-base64 32` outputs the same on every run,
// so this test cannot fail by chance, and the lowest estimate among them
// must clear the bar by a wide margin, so that no secret drawn at random
// comes near it either.
func TestRandomSecretsAreAccepted(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte([]byte("gatehouse secret estimator seed."))))
	const n = 5000
	lowest := map[string]float64{"hex": 1e9, "base64": 1e9}
	for range n {
		var b [32]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		for kind, s := range map[string]string{"hex": hex.EncodeToString(b[:]), "base64": base64.StdEncoding.EncodeToString(b[:])} {
			if err := ValidateSecret(s); err != nil {
				t.Fatalf("%s secret %q refused: %v", kind, s, err)
			}
			lowest[kind] = min(lowest[kind], estimateBits(s))
		}
	}
	for kind, bits := range lowest {
		t.Logf("%s: lowest estimate of %d secrets %.1f bits (bar %d)", kind, n, bits, MinSecretBits)
		if bits < 2*MinSecretBits-16 {
			t.Errorf("%s: lowest estimate %.1f bits is too near the bar %d", kind, bits, MinSecretBits)
		}
	}
}
