package totp

import (
	"net/url"
	"strings"
	"testing"
)

func TestURI(t *testing.T) {
	t.Parallel()
	secret := []byte("12345678901234567890")
	got := URI("Gatehouse", "alice", secret)
	want := "otpauth://totp/Gatehouse:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Errorf("URI =\n %s\nwant\n %s", got, want)
	}
	if got, want := URI("ACME Co", "a b@c", secret),
		"otpauth://totp/ACME%20Co:a%20b@c?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"; got != want {
		t.Errorf("URI =\n %s\nwant\n %s", got, want)
	}
	if got, want := URI("", "alice", secret),
		"otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"; got != want {
		t.Errorf("URI without issuer =\n %s\nwant\n %s", got, want)
	}
}

// TestURIParse checks with net/url that awkward issuers and accounts come
// back intact, from the label and from the parameters.
func TestURIParse(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	for _, v := range []struct{ issuer, account string }{
		{"Gatehouse", "alice"},
		{"ACME Co", "alice smith"},
		{"Big:Corp", "domain:user"},
		{"Gatehouse", "alice@example.com"},
		{"Zürich Bank ✓", "jürgen@bücher.de"},
		{"a&b=c?d#e/f%g+h", "x;y,z'\"<>\\"},
		{"日本", "ユーザー"},
	} {
		raw := URI(v.issuer, v.account, secret)
		if strings.ContainsAny(raw, " #<>\"\\") {
			t.Errorf("URI %q has unescaped characters", raw)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("url.Parse(%q): %v", raw, err)
			continue
		}
		if u.Scheme != "otpauth" || u.Host != "totp" || u.Fragment != "" {
			t.Errorf("%q: scheme %q, host %q, fragment %q", raw, u.Scheme, u.Host, u.Fragment)
		}
		// The label splits on its one literal colon.
		label := strings.TrimPrefix(u.EscapedPath(), "/")
		parts := strings.Split(label, ":")
		if len(parts) != 2 {
			t.Errorf("%q: label %q has %d parts", raw, label, len(parts))
			continue
		}
		issuer, err1 := url.PathUnescape(parts[0])
		account, err2 := url.PathUnescape(parts[1])
		if err1 != nil || err2 != nil || issuer != v.issuer || account != v.account {
			t.Errorf("%q: label gives %q, %q (%v, %v); want %q, %q", raw, issuer, account, err1, err2, v.issuer, v.account)
		}
		if u.Path != "/"+v.issuer+":"+v.account {
			t.Errorf("%q: path %q", raw, u.Path)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Errorf("%q: query: %v", raw, err)
			continue
		}
		want := url.Values{
			"secret": {Encode(secret)}, "issuer": {v.issuer},
			"algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"},
		}
		if len(q) != len(want) {
			t.Errorf("%q: parameters %v, want %v", raw, q, want)
		}
		for k, w := range want {
			if got := q[k]; len(got) != 1 || got[0] != w[0] {
				t.Errorf("%q: %s = %q, want %q", raw, k, got, w)
			}
		}
		if got, err := Decode(q.Get("secret")); err != nil || string(got) != string(secret) {
			t.Errorf("%q: the secret decodes to %x, %v", raw, got, err)
		}
	}
}
