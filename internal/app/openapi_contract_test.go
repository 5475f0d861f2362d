package app

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/server"
)

// reports collects what validated reports, in place of a test.
type reports struct {
	mu   sync.Mutex
	msgs []string
}

func (r *reports) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// TestContractCatchesMismatches checks that the validation of every test's
// traffic can fail: a handler that strays from openapi.json in each way
// below must be reported, and one that keeps to it must not.
func TestContractCatchesMismatches(t *testing.T) {
	t.Parallel()
	answer := func(status int, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", "Bearer")
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		})
	}
	bearer := []string{"Authorization", "Bearer x.y.z"}
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		h                        http.Handler
		want                     string // in the report; "" for none
	}{
		{"keeps to it", "GET", "/me", "", bearer, answer(200, `{"id":"1","username":"bob","role":"user","email":null,"email_verified":false,"mfa_enabled":false}`), ""},
		{"a field missing", "GET", "/me", "", bearer, answer(200, `{"id":"1","username":"bob"}`), "answer 200 to GET /me"},
		{"an undocumented field", "GET", "/me", "", bearer, answer(200, `{"id":"1","username":"bob","role":"user","email":null,"email_verified":false,"mfa_enabled":false,"extra":1}`), "answer 200 to GET /me"},
		{"a field of the wrong type", "GET", "/me", "", bearer, answer(200, `{"id":1,"username":"bob","role":"user","email":null,"email_verified":false,"mfa_enabled":false}`), "answer 200 to GET /me"},
		{"an undocumented status", "GET", "/me", "", bearer, answer(418, `{"detail":"teapot","code":"teapot"}`), "answer 418 to GET /me"},
		{"the wrong error code", "GET", "/me", "", bearer, answer(401, `{"detail":"Not authenticated","code":"forbidden"}`), "answer 401 to GET /me"},
		{"401 without its challenge", "GET", "/me", "", bearer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"detail":"Not authenticated","code":"unauthenticated"}`))
		}), "answer 401 to GET /me"},
		{"a bad request body", "POST", "/auth/login", `{"username":"bob"}`, []string{"Content-Type", "application/json"},
			answer(422, `{"detail":"Field required: password","code":"invalid"}`), "request POST /auth/login"},
		{"a form body without its field", "POST", "/auth/revoke", "tok=x", append([]string{"Content-Type", "application/x-www-form-urlencoded"}, bearer...),
			answer(422, `{"detail":"Field required: token","code":"invalid"}`), "request POST /auth/revoke"},
		{"no credentials", "GET", "/me", "", nil, answer(401, `{"detail":"Not authenticated","code":"unauthenticated"}`), "request GET /me"},
		{"an undocumented route", "GET", "/nope", "", nil, answer(404, `{"detail":"Not Found","code":"not_found"}`), "request GET /nope"},
		{"a stale mark", "GET", "/public", "", []string{invalidHeader, "not really"}, answer(200, `{"message":"This route requires no authentication"}`), "is marked invalid"},
		{"a marked unknown route answering a non-error", "GET", "/nope", "", []string{invalidHeader, "unknown path"}, answer(404, `{"oops":true}`), "answer 404 to GET /nope"},
		{"a marked unknown route answering an error", "GET", "/nope", "", []string{invalidHeader, "unknown path"}, answer(404, `{"detail":"Not Found","code":"not_found"}`), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := &reports{}
			srv := httptest.NewServer(validated(rep, tc.h))
			defer srv.Close()
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			srv.Close() // the checks have run
			got := strings.Join(rep.msgs, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Fatalf("reported a request and answer that keep to openapi.json:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Fatalf("report %q, want one about %q", got, tc.want)
			}
		})
	}
}

// TestOpenAPIServed checks GET /openapi.json: the embedded document, as
// JSON, cacheable.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/openapi.json", "", nil)
	expect(t, r, 200, "")
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=3600" {
		t.Fatalf("Cache-Control %q", cc)
	}
	if !bytes.Equal(r.body, server.OpenAPIDocument()) {
		t.Fatal("GET /openapi.json is not the embedded document")
	}
	if v, _ := r.json(t)["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi %q", v)
	}
}
