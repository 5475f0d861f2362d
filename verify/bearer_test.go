package verify

import (
	"errors"
	"strings"
	"testing"
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
