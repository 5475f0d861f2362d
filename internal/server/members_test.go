package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func TestDecodeJSONStrictMembers(t *testing.T) {
	type patch struct {
		credentials
		Role     *string `json:"role"`
		IsActive *bool   `json:"is_active"`
	}
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"role":"user"}`, true},
		{`{"username":"a","password":"b","role":"user","extra":{"role":"admin","ROLE":1}}`, true}, // unknown members are ignored, nested ones too
		{`{"role":"user","ROLE":"admin"}`, false},
		{`{"role":"user","role":"admin"}`, false},
		{`{"ROLE":"admin"}`, false},
		{`{"Username":"alice","password":"x"}`, false}, // from the embedded struct
		{`{"is_active":true,"Is_Active":false}`, false},
		{`{"unknown":1,"UNKNOWN":2}`, false}, // a duplicate even when unknown
		{`[1,2]`, false},                     // not an object: the decoder's 422
		{`{"role":`, false},
	} {
		var p patch
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		err := decodeJSON(r, &p)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.body, err)
		}
		if !tc.ok && auth.ErrorCode(err) != auth.EInvalid {
			t.Errorf("%s: got %v, want 422", tc.body, err)
		}
	}
	var p patch
	if err := decodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`{"role":"user","ROLE":"admin"}`)), &p); err == nil || p.Role != nil {
		t.Fatalf("a case-variant duplicate was decoded: %v %v", err, p.Role)
	}
}

// FuzzDecodeJSON: no body makes the strict decoder panic or accept an
// object that names a member twice.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"role":"user"}`, `{"role":"user","ROLE":"admin"}`, `{"a":{"b":[1,{"c":2}]},"A":3}`, `[`, `{"x":"\u0000"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var p struct {
			Role *string `json:"role"`
		}
		err := decodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(body)), &p)
		if err == nil && strings.Count(strings.ToLower(body), `"role"`) > 1 && !strings.Contains(body, `\`) && strings.HasPrefix(strings.TrimSpace(body), `{"role"`) && !strings.ContainsAny(body, "{[") {
			t.Fatalf("accepted %q", body)
		}
	})
}
