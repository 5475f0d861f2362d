package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/verify"
)

// clock is a fake time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newStore(t *testing.T) auth.KeyStore {
	st, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "keys.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func newManager(t *testing.T, st auth.KeyStore, alg string, c *clock) *Manager {
	m := New(Options{Algorithm: alg, Store: st, AccessTTL: 10 * time.Minute, PublishDelay: 5 * time.Minute, Now: c.Now})
	if err := m.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func sign(t *testing.T, m *Manager, c *clock) string {
	s, err := m.Signer()
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _, err := s.Sign(token.AccessClaims{Issuer: "http://iss", Subject: "u", SessionID: "s", Username: "u", Role: "user", IssuedAt: c.Now(), TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func published(t *testing.T, m *Manager) []string {
	body, _ := m.JWKS()
	var set struct{ Keys []JWK }
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestRotationNeverLogsAnyoneOut(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	st := newStore(t)
	m := newManager(t, st, "ES256", c)
	v, err := verify.New(context.Background(), verify.Config{Issuer: "http://iss", Algorithms: []string{"ES256"}, KeySet: m, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	// A resource service sees the keys only through the published JWKS,
	// cached as its headers say.
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := m.JWKS()
		w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", int(m.CacheMaxAge().Seconds())))
		w.Write(body)
	}))
	defer jwks.Close()
	remote, err := verify.New(context.Background(), verify.Config{Issuer: "http://iss", Algorithms: []string{"ES256"},
		KeySet: verify.NewRemoteKeySet(jwks.URL, nil, c.Now), Now: c.Now, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	check := func(tok, when string) {
		t.Helper()
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if _, err := remote.Verify(context.Background(), tok); err != nil {
			t.Fatalf("%s, through the remote JWKS: %v", when, err)
		}
	}
	before := sign(t, m, c)
	oldKid := published(t, m)[0]

	next, err := m.Rotate(context.Background(), auth.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if kids := published(t, m); len(kids) != 2 {
		t.Fatalf("after rotate the JWKS has %v, want old and next", kids)
	}
	if s, _ := m.Signer(); s.KeyID() != oldKid {
		t.Fatal("the next key signs before its publish delay")
	}
	during := sign(t, m, c)
	check(before, "before, during publish delay")

	c.Add(5*time.Minute + time.Second) // the next key activates
	if s, _ := m.Signer(); s.KeyID() != next.ID {
		t.Fatalf("signer %s, want the new key %s", s.KeyID(), next.ID)
	}
	after := sign(t, m, c)
	check(before, "before, after activation")
	check(during, "during, after activation")
	check(after, "after")
	states := map[string]auth.KeyState{}
	for _, k := range m.List() {
		states[k.ID] = k.State
	}
	if states[oldKid] != auth.KeyRetired || states[next.ID] != auth.KeyCurrent {
		t.Fatalf("states %v", states)
	}

	// Once every token of the old key has expired, it leaves the JWKS.
	c.Add(10*time.Minute + verify.MaxLeeway + time.Second)
	if err := m.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kids := published(t, m); len(kids) != 1 || kids[0] != next.ID {
		t.Fatalf("JWKS %v, want only %s", kids, next.ID)
	}
}

func TestAnotherProcessSeesTheSameKeys(t *testing.T) {
	c := &clock{now: time.Now()}
	st := newStore(t)
	a := newManager(t, st, "EdDSA", c)
	b := newManager(t, st, "EdDSA", c) // a second replica: no second key
	if ka, kb := published(t, a), published(t, b); len(ka) != 1 || len(kb) != 1 || ka[0] != kb[0] {
		t.Fatalf("replicas publish %v and %v", ka, kb)
	}
	next, err := a.Rotate(context.Background(), auth.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kids := published(t, b); len(kids) != 2 || kids[1] != next.ID {
		t.Fatalf("replica b publishes %v after a's rotation", kids)
	}
}

func TestAlgorithmChangeRetiresOldKeys(t *testing.T) {
	c := &clock{now: time.Now()}
	st := newStore(t)
	es := newManager(t, st, "ES256", c)
	old := published(t, es)[0]
	rs := newManager(t, st, "RS256", c)
	if s, _ := rs.Signer(); s.Algorithm() != "RS256" {
		t.Fatalf("signer alg %s", s.Algorithm())
	}
	if algs := rs.Algorithms(); len(algs) != 2 || algs[0] != "RS256" {
		t.Fatalf("algorithms %v: old ES256 tokens must still verify until they expire", algs)
	}
	for _, k := range rs.List() {
		if k.ID == old && k.ExpiresAt.IsZero() {
			t.Fatal("the ES256 key was not given an expiry")
		}
	}
}

func TestThumbprintRFC7638(t *testing.T) {
	// The example key of RFC 7638 section 3.1.
	n := "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	key, err := parseRSA(n, "AQAB")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

func TestScheduledRotation(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	st := newStore(t)
	m := New(Options{Algorithm: "ES256", Store: st, AccessTTL: 10 * time.Minute, PublishDelay: time.Minute, RotateEvery: 24 * time.Hour, Now: c.Now})
	if err := m.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.rotateIfDue(ctx); err != nil || len(m.List()) != 1 {
		t.Fatalf("rotated a fresh key: %v, %d keys", err, len(m.List()))
	}
	c.Add(25 * time.Hour)
	if err := m.rotateIfDue(ctx); err != nil || len(m.List()) != 2 {
		t.Fatalf("did not rotate a 25-hour-old key: %v, %d keys", err, len(m.List()))
	}
	if err := m.rotateIfDue(ctx); err != nil || len(m.List()) != 2 {
		t.Fatalf("stacked a second rotation: %v, %d keys", err, len(m.List()))
	}
}
