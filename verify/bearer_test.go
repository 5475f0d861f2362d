package verify

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		err    error
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", nil},
		{"bearer abc", "abc", nil},
		{"BEARER abc", "abc", nil},
		{"Bearer a+b/c==", "a+b/c==", nil},
		{"Bearer a-b_c.d~", "a-b_c.d~", nil},
		{"", "", ErrNoToken},
		{"Bearer", "", ErrNoToken},
		{"Bearer ", "", ErrNoToken},
		{"Basic dXNlcjpwYXNz", "", ErrNoToken},
		{"Token abc", "", ErrNoToken},
		{"Bearerabc", "", ErrNoToken},
		{"abc.def.ghi", "", ErrNoToken},
		{" Bearer abc", "", ErrNoToken},
		{"Bearer\tabc", "", ErrNoToken},
		{"Bearer  abc", "", ErrMalformed},
		{"Bearer abc ", "", ErrMalformed},
		{"Bearer abc def", "", ErrMalformed},
		{"Bearer abc,Bearer def", "", ErrMalformed},
		{"Bearer abc\x00", "", ErrMalformed},
		{"Bearer abc\r\nX-Evil: 1", "", ErrMalformed},
		{"Bearer =abc", "", ErrMalformed},
		{"Bearer ab=c", "", ErrMalformed},
		{"Bearer ===", "", ErrMalformed},
		{"Bearer \"abc\"", "", ErrMalformed},
		{"Bearer ébc", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			got, err := BearerToken(tt.header)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"", "Bearer", "Bearer ", "Bearer abc", "bearer a.b.c", "Bearer  x",
		"Bearer a b", "Basic x", "Bearer a==", "Bearer =", "Bearer \x00", "BEARER " + good(HS256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := BearerToken(header)
		if err != nil {
			if tok != "" || !(errors.Is(err, ErrNoToken) || errors.Is(err, ErrMalformed)) {
				t.Fatalf("%q: %q, %v", header, tok, err)
			}
			return
		}
		if tok == "" || len(header) != len("Bearer ")+len(tok) ||
			!strings.EqualFold(header[:7], "Bearer ") || header[7:] != tok ||
			strings.ContainsAny(tok, " \t\r\n\x00,\"") {
			t.Fatalf("%q: accepted %q", header, tok)
		}
	})
}

// TestVerifyBearer checks that VerifyBearer answers as BearerToken then
// Verify do, for headers whose token is cached, new, or malformed around a
// cached one.
func TestVerifyBearer(t *testing.T) {
	v := newVerifier(t, func(c *Config) { c.CacheSize = 16 })
	tok := good(ES256)
	if _, err := v.Verify(t.Context(), tok); err != nil { // now cached
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), testkit.Tamper(tok)); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered token: %v, want ErrSignature", err)
	}
	for _, header := range []string{
		"Bearer " + tok, "bearer " + tok, "Bearer " + good(EdDSA), "Bearer " + tok + " ", "Bearer  " + tok,
		"Bearer " + tok + "\x00", "Bearer " + tok + "=", "Bearer " + tok + ",x", "Basic " + tok, tok, "", "Bearer ",
		"Bearer " + testkit.Tamper(tok), "Bearer a+b/c==",
	} {
		want, wantErr := BearerToken(header)
		var wantClaims *Claims
		if wantErr == nil {
			wantClaims, wantErr = v.Verify(t.Context(), want)
		}
		got, err := v.VerifyBearer(t.Context(), header)
		if (err == nil) != (wantErr == nil) || (err != nil && !sameKind(err, wantErr)) {
			t.Fatalf("VerifyBearer(%.40q…) = %v; BearerToken then Verify: %v", header, err, wantErr)
		}
		if err == nil && (got == nil || got.ID != wantClaims.ID) {
			t.Fatalf("VerifyBearer(%.40q…) = %+v, want %+v", header, got, wantClaims)
		}
	}
}

// sameKind reports whether two verification errors are of the same kind.
func sameKind(a, b error) bool {
	for _, k := range []error{ErrNoToken, ErrMalformed, ErrSignature, ErrExpired, ErrAlgorithm, ErrUnknownKey, ErrRevoked} {
		if errors.Is(b, k) {
			return errors.Is(a, k)
		}
	}
	return false
}
