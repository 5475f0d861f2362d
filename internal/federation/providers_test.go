package federation

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseProvidersDefaults(t *testing.T) {
	ps, err := ParseProviders([]byte(`[
		{"id":"google","name":"Google","issuer":"https://accounts.google.com/","client_id":"c","client_secret_env":"G_SECRET"},
		{"id":"local","name":"Local","issuer":"http://127.0.0.1:5556","client_id":"c","client_secret":"s","scopes":["openid"],"link":"verified_email"}
	]`), env(map[string]string{"G_SECRET": "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	g, l := ps[0], ps[1]
	if g.ClientSecret != "from-env" || g.Link != LinkNever || strings.Join(g.Scopes, " ") != "openid email profile" || g.Issuer != "https://accounts.google.com/" {
		t.Fatalf("google = %+v", g)
	}
	if l.Link != LinkVerifiedEmail || len(l.Scopes) != 1 {
		t.Fatalf("local = %+v", l)
	}
}

// Every mistake is one line naming the entry.
func TestParseProvidersMistakes(t *testing.T) {
	_, err := ParseProviders([]byte(`[
		{"id":"Bad Id","name":"x","issuer":"https://a.example","client_id":"c","client_secret":"s"},
		{"id":"plain","name":"x","issuer":"http://idp.example","client_id":"c","client_secret":"s"},
		{"id":"dup","name":"x","issuer":"https://a.example","client_id":"c","client_secret":"s"},
		{"id":"dup","name":"x","issuer":"https://a.example","client_id":"c","client_secret":"s"},
		{"id":"nosecret","name":"x","issuer":"https://a.example","client_id":"c"},
		{"id":"both","name":"x","issuer":"https://a.example","client_id":"c","client_secret":"s","client_secret_env":"E"},
		{"id":"unset","name":"x","issuer":"https://a.example","client_id":"c","client_secret_env":"UNSET"},
		{"id":"scopes","name":"x","issuer":"https://a.example","client_id":"c","client_secret":"s","scopes":["email"]},
		{"id":"link","name":"x","issuer":"https://a.example","client_id":"c","client_secret":"s","link":"email"},
		{"id":"query","name":"","issuer":"https://a.example/?x=1","client_id":""}
	]`), env(nil))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{
		"provider Bad Id: id must be", "provider plain: issuer", "provider dup: id is used twice",
		"provider nosecret: client_secret or client_secret_env is missing", "provider both: give client_secret or client_secret_env, not both",
		"provider unset: client_secret_env names UNSET, which is not set", `provider scopes: scopes must include "openid"`,
		`provider link: link must be`, "provider query: name is missing", "provider query: issuer", "provider query: client_id is missing",
	} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("no line %q in:\n%s", want, err)
		}
	}
	if len(lines) != 12 {
		t.Errorf("%d lines, want 12:\n%s", len(lines), err)
	}
}

func TestParseProvidersShape(t *testing.T) {
	for _, in := range []string{`{}`, `[{"id":"a","nmae":"typo"}]`, `[] []`, `not json`, ``} {
		if _, err := ParseProviders([]byte(in), env(nil)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	if ps, err := ParseProviders([]byte(`[]`), env(nil)); err != nil || len(ps) != 0 {
		t.Errorf("[]: %v %v", ps, err)
	}
}

func TestLoadProviders(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "providers.json")
	if _, err := LoadProviders(p, env(nil)); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(p, []byte(strings.Repeat(" ", maxProvidersFile+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProviders(p, env(nil)); err == nil || !strings.Contains(err.Error(), "over") {
		t.Fatalf("oversized file: %v", err)
	}
}

func TestRedirectURIs(t *testing.T) {
	r, err := ParseRedirectURIs([]string{"https://app.example/cb", "http://127.0.0.1/native", "http://[::1]/v6", "com.example.app:/oauth", "http://localhost:3000/dev", " "})
	if err != nil {
		t.Fatal(err)
	}
	r.Allow("http://localhost:8000/")
	for uri, want := range map[string]bool{
		"https://app.example/cb":                true,
		"https://app.example/cb/":               false,
		"https://app.example/cb?x=1":            false,
		"https://APP.example/cb":                false,
		"https://app.example/cb#frag":           false,
		"https://app.example.evil/cb":           false,
		"http://app.example/cb":                 false,
		"http://127.0.0.1/native":               true,
		"http://127.0.0.1:49152/native":         true,
		"http://127.0.0.1:1/native":             true,
		"http://127.0.0.1:65535/native":         true,
		"http://127.0.0.1:65536/native":         false,
		"http://127.0.0.1:0/native":             false,
		"http://127.0.0.1:08080/native":         false,
		"http://127.0.0.1:80x/native":           false,
		"http://127.0.0.1:8080/native/x":        false,
		"http://127.0.0.1:8080/native?x":        false,
		"http://user@127.0.0.1:8080/native":     false,
		"http://127.0.0.1.evil:8080/native":     false,
		"http://[::1]:7000/v6":                  true,
		"http://[::1]:7000/native":              false,
		"https://127.0.0.1:8080/native":         false,
		"http://localhost:3000/dev":             true,
		"http://localhost:3001/dev":             false, // only IP literals match any port
		"com.example.app:/oauth":                true,
		"http://localhost:8000/":                true,
		"":                                      false,
		"http://127.0.0.1:8080" + "/native\x00": false,
	} {
		if got := r.Match(uri); got != want {
			t.Errorf("Match(%q) = %v, want %v", uri, got, want)
		}
	}
	_, err = ParseRedirectURIs([]string{"https://a.example/#f", "/relative", "http://app.example/cb", "javascript:alert(1)", "data:text/html,x"})
	if err == nil || len(strings.Split(err.Error(), "\n")) != 5 {
		t.Fatalf("bad entries: %v", err)
	}
}

func TestEmailVerifiedIsNeverAZeroValue(t *testing.T) {
	for raw, want := range map[string]bool{"": false, "null": false, "false": false, "true": true, `"true"`: true, `"false"`: false, "1": false, `"yes"`: false} {
		c := claims{EmailVerified: []byte(raw)}
		if got := c.emailVerified(); got != want {
			t.Errorf("email_verified %s: %v, want %v", raw, got, want)
		}
	}
}

func TestUsernames(t *testing.T) {
	for _, tc := range []struct {
		who  signedIn
		want string
	}{
		{signedIn{PreferredUsername: "ana", Email: "x@example.com"}, "ana"},
		{signedIn{Email: "ana.lima+gh@example.com"}, "ana.lima.gh@example.com"},
		{signedIn{Name: "Ana Lima"}, "Ana.Lima"},
		{signedIn{PreferredUsername: "!!!", Name: "***"}, "user"},
		{signedIn{PreferredUsername: "0190a5c4-0000-7000-8000-000000000000"}, "user"},
		{signedIn{PreferredUsername: strings.Repeat("a", 100)}, strings.Repeat("a", 57)},
	} {
		if got := usernameBase(tc.who); got != tc.want {
			t.Errorf("usernameBase(%+v) = %q, want %q", tc.who, got, tc.want)
		}
	}
	seen := map[string]bool{}
	for i := range maxUsernameTries {
		c := candidate("ana", i)
		if seen[c] {
			t.Errorf("candidate %d repeats %q", i, c)
		}
		seen[c] = true
	}
}

func TestDerivedValues(t *testing.T) {
	b, st := newSecret(), newSecret()
	v := derive(b, "pkce", st)
	if !validVerifier(v) || v == derive(b, "nonce", st) || v == derive(newSecret(), "pkce", st) || v != derive(b, "pkce", st) {
		t.Fatalf("derive: %q", v)
	}
	if !validSecret(b) || validSecret(b[:42]) || validSecret(b+"=") || validSecret(strings.Repeat("*", 43)) {
		t.Fatal("validSecret")
	}
	for v, want := range map[string]bool{strings.Repeat("a", 42): false, strings.Repeat("a", 43): true, strings.Repeat("~", 128): true, strings.Repeat("a", 129): false, strings.Repeat("a", 42) + "+": false} {
		if validVerifier(v) != want {
			t.Errorf("validVerifier(%q) != %v", v, want)
		}
	}
	if got := withQuery("https://app.example/cb?keep=1", "code", "c", "state", "", "x", "a&b"); got != "https://app.example/cb?code=c&keep=1&x=a%26b" {
		t.Errorf("withQuery = %q", got)
	}
}

// FuzzRedirectMatch: whatever the URI, a match is an entry byte for byte,
// or a loopback entry with only a port added; nothing panics.
func FuzzRedirectMatch(f *testing.F) {
	entries := []string{"https://app.example/cb", "http://127.0.0.1/native", "http://[::1]/v6"}
	for _, s := range append([]string{"http://127.0.0.1:8080/native", "http://[::1]:1/v6", "http://127.0.0.1:/native", "http://127.0.0.1:8080", "%", "http://127.0.0.1:99999/native"}, entries...) {
		f.Add(s)
	}
	r, err := ParseRedirectURIs(entries)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if !r.Match(uri) {
			return
		}
		if slices.Contains(entries, uri) { // a loopback entry matches without a port too
			return
		}
		for host, path := range map[string]string{"127.0.0.1": "/native", "[::1]": "/v6"} {
			port, ok := strings.CutPrefix(uri, "http://"+host+":")
			port, ok2 := strings.CutSuffix(port, path)
			n, err := strconv.Atoi(port)
			if ok && ok2 && err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == port {
				return
			}
		}
		t.Fatalf("Match(%q) is true", uri)
	})
}

// FuzzParseProviders: any file is refused with an error or gives providers
// that pass the rules; nothing panics.
func FuzzParseProviders(f *testing.F) {
	f.Add(`[{"id":"a","name":"A","issuer":"https://a.example","client_id":"c","client_secret":"s"}]`)
	f.Add(`[{"id":"a","scopes":["openid"],"link":"verified_email"}]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ParseProviders([]byte(in), func(string) string { return "from-env" })
		if err != nil {
			return
		}
		for _, p := range ps {
			if !providerID.MatchString(p.ID) || p.ClientSecret == "" || checkIssuer(p.Issuer) != nil || (p.Link != LinkNever && p.Link != LinkVerifiedEmail) {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}
