package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/token"
)

// FuzzDecodeCredentials feeds arbitrary bodies to the login decoder: every
// failure must be a client error (422 or 413), never an internal one.
func FuzzDecodeCredentials(f *testing.F) {
	for _, seed := range []string{
		`{"username":"alice","password":"secret123"}`, `{"username":`, ``, `[]`, `null`,
		`{"username":5}`, `{"username":"a","password":"b"} trailing`, `{"a":{"b":[[[[1]]]]}}`,
		"\xff\xfe", `{"username":"\u0000","password":"\ud800"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/auth/login", strings.NewReader(body))
		var c credentials
		err := decodeJSON(r, &c)
		if err == nil {
			err = c.validate()
		}
		if err == nil {
			return
		}
		if code := auth.ErrorCode(err); code != auth.EInvalid && code != auth.ETooLarge {
			t.Fatalf("body %q: error code %s (%v)", body, code, err)
		}
	})
}

// FuzzEmailBodies feeds arbitrary bodies to the decoders of the email
// flows, which carry link tokens, passwords and addresses: every failure
// is a client error (422 or 413), and what decodes is checked as the
// flows check it (a token of the wrong shape is refused before any
// lookup, an address by auth.ValidateEmail) without a panic.
func FuzzEmailBodies(f *testing.F) {
	for _, seed := range []string{
		`{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, `{"token":"AAAA","new_password":"secret123"}`,
		`{"email":"alice@example.com"}`, `{"email":"Alice <a@b.c>","current_password":"x"}`, `{"token":null}`,
		`{"token":"a","TOKEN":"b"}`, `{"email":["x"]}`, `{"token":"\u0000"}`, "{\"email\":\"\xff@example.com\"}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		bodies := []interface{ validate() error }{&tokenBody{}, &resetBody{}, &forgotBody{}, &changeEmailBody{}}
		for _, b := range bodies {
			err := decodeValid(httptest.NewRequest("POST", "/", strings.NewReader(body)), b)
			if err != nil {
				if code := auth.ErrorCode(err); code != auth.EInvalid && code != auth.ETooLarge {
					t.Fatalf("body %q into %T: error code %s (%v)", body, b, code, err)
				}
				continue
			}
			switch v := b.(type) {
			case *tokenBody:
				if token.LooksLikeSecret(*v.Token) && len(*v.Token) != token.RefreshTokenLen {
					t.Fatalf("token %q of the wrong length passes", *v.Token)
				}
			case *forgotBody:
				if addr, err := auth.ValidateEmail(*v.Email); err == nil && (len(addr) > auth.MaxEmailLen || !utf8.ValidString(addr)) {
					t.Fatalf("address %q accepted", addr)
				}
			}
		}
	})
}

// FuzzMFABodies feeds arbitrary bodies to the decoders of the
// second-factor calls, which carry codes, attempt tokens and passwords:
// every failure is a client error (422 or 413), never a panic.
func FuzzMFABodies(f *testing.F) {
	for _, seed := range []string{
		`{"mfa_token":"AAAA","code":"123456"}`, `{"code":"123 456"}`, `{"code":"k3v7-q2mx-8d4w-jp5n-a6rt"}`,
		`{"current_password":"x","code":null}`, `{"code":1}`, `{"mfa_token":"a","MFA_TOKEN":"b","code":"1"}`, "{\"code\":\"\xff\"}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, b := range []interface{ validate() error }{&codeBody{}, &disableBody{}, &loginMFABody{}} {
			err := decodeValid(httptest.NewRequest("POST", "/", strings.NewReader(body)), b)
			if err != nil {
				if code := auth.ErrorCode(err); code != auth.EInvalid && code != auth.ETooLarge {
					t.Fatalf("body %q into %T: error code %s (%v)", body, b, code, err)
				}
			}
		}
	})
}
