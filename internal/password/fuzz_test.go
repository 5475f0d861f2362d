package password

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func FuzzVerify(f *testing.F) {
	h := newTestHasher(f, testParams(), 0, time.Minute)
	valid, err := h.Hash(context.Background(), "secret123")
	if err != nil {
		f.Fatal(err)
	}
	for _, enc := range []string{
		valid, h.dummy,
		"$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",
		passlibBcrypt2a, passlibBcrypt2b, passlibBcrypt2y, passlibLong,
	} {
		f.Add("secret123", enc)
		f.Add("password", enc)
	}
	f.Add(strings.Repeat("x", 80), passlibLong)
	for _, enc := range malformedHashes {
		f.Add("secret123", enc)
	}

	f.Fuzz(func(t *testing.T, password, encoded string) {
		if tooSlowToFuzz(encoded) {
			t.Skip()
		}
		ok, rehash, err := h.Verify(context.Background(), password, encoded)
		switch {
		case err != nil && (ok || rehash):
			t.Fatalf("Verify = %v, %v, %v: results with an error", ok, rehash, err)
		case rehash && !ok:
			t.Fatalf("Verify asks to rehash a wrong password")
		case err != nil && !errors.Is(err, ErrMalformedHash):
			t.Fatalf("Verify: %v, want nil or ErrMalformedHash", err)
		}
		// Only canonical PHC strings are accepted.
		if d, err := decodePHC(encoded); err == nil {
			if got := encodePHC(d.Params, d.salt, d.key); got != encoded {
				t.Fatalf("decodePHC accepted non-canonical %q (canonical %q)", encoded, got)
			}
		}
	})
}

// tooSlowToFuzz reports whether encoded is a valid hash whose parameters
// would make one fuzz iteration take long (up to seconds, or a GiB).
func tooSlowToFuzz(encoded string) bool {
	if d, err := decodePHC(encoded); err == nil {
		return d.Memory > 2048 || d.Time > 4 || d.Threads > 4
	}
	if cost, err := checkBcrypt(encoded); err == nil {
		return cost > 5
	}
	return false
}
