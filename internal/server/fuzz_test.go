package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/auth"
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
