package sessions

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/verify"
)

var ctx = context.Background()

const (
	issuer    = "https://gatehouse.test"
	audience  = "api"
	accessTTL = 30 * time.Minute
	refreshTT = 168 * time.Hour
	reuseIvl  = 10 * time.Second
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type createCall struct {
	sess        auth.Session
	refreshHash string
	fx          auth.Effects
}

type revokeCall struct {
	f     auth.SessionFilter
	until time.Time
	fx    auth.Effects
}

type revokeTokenCall struct {
	jti   string
	until time.Time
	fx    auth.Effects
}

// fakeStore records every call; answers come from its fields.
type fakeStore struct {
	mu sync.Mutex

	creates      []createCall
	rotations    []auth.Rotation
	rotateResult auth.RotationResult
	rotateErr    error
	byHash       map[string]auth.Session
	byID         map[string]auth.Session
	users        map[string]auth.User
	revokes      []revokeCall
	revokeRecs   []auth.Revocation
	tokenRevokes []revokeTokenCall
	calls        int
}

func newFakeStore() *fakeStore {
	return &fakeStore{byHash: map[string]auth.Session{}, byID: map[string]auth.Session{}, users: map[string]auth.User{}}
}

func (f *fakeStore) count() {
	f.calls++
}

func (f *fakeStore) CreateSession(_ context.Context, s auth.Session, refreshHash string, fx auth.Effects) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count()
	f.creates = append(f.creates, createCall{s, refreshHash, fx})
	return nil
}

func (f *fakeStore) RotateRefreshToken(_ context.Context, r auth.Rotation) (auth.RotationResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count()
	f.rotations = append(f.rotations, r)
	return f.rotateResult, f.rotateErr
}

func (f *fakeStore) SessionByRefreshHash(_ context.Context, hash string) (auth.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count()
	s, ok := f.byHash[hash]
	if !ok {
		return auth.Session{}, auth.Errorf(auth.ENotFound, "no session")
	}
	return s, nil
}

func (f *fakeStore) SessionByID(_ context.Context, id string) (auth.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count()
	s, ok := f.byID[id]
	if !ok {
		return auth.Session{}, auth.Errorf(auth.ENotFound, "no session")
	}
	return s, nil
}

func (f *fakeStore) ListSessions(_ context.Context, userID string, now time.Time) ([]auth.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count()
	var out []auth.Session
	for _, s := range f.byID {
		if s.UserID == userID && s.Live(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeStore) RevokeSessions(_ context.Context, fl auth.SessionFilter, until time.Time, fx auth.Effects) ([]auth.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count()
	f.revokes = append(f.revokes, revokeCall{fl, until, fx})
	return f.revokeRecs, nil
}

func (f *fakeStore) RevokeToken(_ context.Context, jti string, until time.Time, fx auth.Effects) (auth.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count()
	f.tokenRevokes = append(f.tokenRevokes, revokeTokenCall{jti, until, fx})
	return auth.Revocation{Kind: auth.RevokedToken, ID: jti, ExpiresAt: until}, nil
}

func (f *fakeStore) UserByID(_ context.Context, id string) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count()
	u, ok := f.users[id]
	if !ok {
		return auth.User{}, auth.Errorf(auth.ENotFound, "no user")
	}
	return u, nil
}

func (f *fakeStore) nCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeSigners hands out one signer.
type fakeSigners struct{ s *token.Signer }

func (f fakeSigners) Signer() (*token.Signer, error) { return f.s, nil }

// fakeDenylist records what it is told.
type fakeDenylist struct {
	mu    sync.Mutex
	calls [][]auth.Revocation
}

func (d *fakeDenylist) Record(_ context.Context, recs ...auth.Revocation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, append([]auth.Revocation(nil), recs...))
}

// fakeCache records every Remember.
type fakeCache struct {
	mu   sync.Mutex
	sess []auth.Session
	user []auth.User
}

func (c *fakeCache) Remember(s auth.Session, u auth.User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = append(c.sess, s)
	c.user = append(c.user, u)
}

// auditStore keeps events in memory.
type auditStore = testkit.AuditLog

type harness struct {
	svc      *Service
	store    *fakeStore
	deny     *fakeDenylist
	cache    *fakeCache
	verifier *verify.Verifier
	signer   *token.Signer
	now      time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner(verify.ES256, "kid-1", priv)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := verify.NewStaticKeySet(verify.Key{ID: "kid-1", Algorithm: verify.ES256, Key: &priv.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{store: newFakeStore(), deny: &fakeDenylist{}, cache: &fakeCache{}, signer: signer, now: t0}
	nowFn := func() time.Time { return h.now }
	h.verifier, err = verify.New(ctx, verify.Config{
		Issuer: issuer, Audience: audience, Algorithms: []string{verify.ES256}, KeySet: keys, Now: nowFn, CacheSize: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := audit.New(&auditStore{}, log, 0)
	rec.Now = nowFn
	h.svc = New(Config{
		Store: h.store, Signers: fakeSigners{signer}, Verifier: h.verifier, Denylist: h.deny,
		Issuer: issuer, Audience: audience, AccessTTL: accessTTL, RefreshTTL: refreshTT, ReuseInterval: reuseIvl,
		Now: nowFn, Log: log, Audit: rec, Cache: h.cache,
	})
	return h
}

var (
	alice  = auth.User{ID: "u-alice", Username: "alice", Role: auth.RoleAdmin, Active: true}
	bob    = auth.User{ID: "u-bob", Username: "bob", Role: auth.RoleUser, Active: true}
	origin = auth.Origin{IP: "198.51.100.4", UserAgent: "ua/1.0"}
)

func (h *harness) claims(t *testing.T, access string) *verify.Claims {
	t.Helper()
	c, err := h.verifier.Verify(ctx, access)
	if err != nil {
		t.Fatalf("issued access token does not verify: %v", err)
	}
	return c
}

func TestStart(t *testing.T) {
	h := newHarness(t)
	authAt := t0.Add(-time.Minute)
	a := auth.Authentication{AMR: []string{"pwd", "otp", "mfa"}, Time: authAt}
	fx := auth.Effects{Audit: []auth.AuditEvent{{Event: auth.AuditLoginSucceeded, UserID: alice.ID, Detail: "marker"}}}
	o := origin
	o.UserAgent = strings.Repeat("u", 300)
	iss, err := h.svc.Start(ctx, alice, a, o, fx)
	if err != nil {
		t.Fatal(err)
	}
	if !token.LooksLikeRefreshToken(iss.RefreshToken) || iss.ExpiresIn != accessTTL || iss.SessionID == "" {
		t.Fatalf("issued = %+v", iss)
	}
	if len(h.store.creates) != 1 {
		t.Fatalf("CreateSession called %d times", len(h.store.creates))
	}
	cr := h.store.creates[0]
	s := cr.sess
	if s.ID != iss.SessionID || s.UserID != alice.ID || !s.CreatedAt.Equal(t0) || !s.RefreshedAt.Equal(t0) ||
		!s.ExpiresAt.Equal(t0.Add(refreshTT)) || s.IP != origin.IP || len(s.UserAgent) != 256 || !s.RevokedAt.IsZero() {
		t.Fatalf("session = %+v", s)
	}
	if !slices.Equal(s.Auth.AMR, a.AMR) || !s.Auth.Time.Equal(authAt) {
		t.Fatalf("session auth = %+v", s.Auth)
	}
	if cr.refreshHash != token.HashRefreshToken(iss.RefreshToken) || strings.Contains(cr.refreshHash, iss.RefreshToken) {
		t.Fatalf("refresh hash %q does not match the issued token", cr.refreshHash)
	}
	if len(cr.fx.Audit) != 1 || cr.fx.Audit[0].Detail != "marker" {
		t.Fatalf("effects not passed through: %+v", cr.fx)
	}

	c := h.claims(t, iss.AccessToken)
	if c.SessionID != iss.SessionID || c.Subject != alice.ID || c.Username != "alice" || c.Role != "admin" || c.Type != "access" {
		t.Fatalf("claims = %+v", c)
	}
	if !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) || !c.AuthTime.Equal(authAt) {
		t.Fatalf("amr %q auth_time %v, want [pwd otp mfa] %v", c.AMR, c.AuthTime, authAt)
	}
	if !c.ExpiresAt.Equal(t0.Add(accessTTL)) || !slices.Equal(c.Audience, []string{audience}) || c.Issuer != issuer {
		t.Fatalf("claims = %+v", c)
	}

	if len(h.cache.sess) != 1 || h.cache.sess[0].ID != iss.SessionID || h.cache.user[0].ID != alice.ID {
		t.Fatalf("Remember calls = %+v", h.cache.sess)
	}

	// Two sessions get distinct ids and refresh tokens.
	iss2, err := h.svc.Start(ctx, alice, a, origin, auth.Effects{})
	if err != nil {
		t.Fatal(err)
	}
	if iss2.SessionID == iss.SessionID || iss2.RefreshToken == iss.RefreshToken {
		t.Fatal("two sessions share an id or a refresh token")
	}
}

func TestStartDefaultsAuthTime(t *testing.T) {
	h := newHarness(t)
	iss, err := h.svc.Start(ctx, alice, auth.Authentication{AMR: []string{"pwd"}}, origin, auth.Effects{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.store.creates[0].sess.Auth.Time; !got.Equal(t0) {
		t.Fatalf("session auth time = %v, want now", got)
	}
	if c := h.claims(t, iss.AccessToken); !c.AuthTime.Equal(t0) || !slices.Equal(c.AMR, []string{"pwd"}) {
		t.Fatalf("claims amr %q auth_time %v", c.AMR, c.AuthTime)
	}
}

func TestRefreshRejectsWrongShapeWithoutStore(t *testing.T) {
	h := newHarness(t)
	iss, err := h.svc.Start(ctx, alice, auth.Authentication{AMR: []string{"pwd"}}, origin, auth.Effects{})
	if err != nil {
		t.Fatal(err)
	}
	before := h.store.nCalls()
	stray := iss.RefreshToken[:42] + "B" // the last character carries stray bits
	for _, tok := range []string{"", iss.AccessToken, iss.RefreshToken + "A", iss.RefreshToken[:42], stray, strings.Repeat(".", 43)} {
		if _, err := h.svc.Refresh(ctx, tok, origin); !errors.Is(err, ErrBadRefresh) {
			t.Fatalf("Refresh(%.20q) err = %v, want ErrBadRefresh", tok, err)
		}
	}
	if n := h.store.nCalls() - before; n != 0 {
		t.Fatalf("store called %d times for malformed refresh tokens", n)
	}
}

func newRefresh(t *testing.T) string {
	t.Helper()
	r, err := token.NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRefreshRenewed(t *testing.T) {
	for _, outcome := range []auth.RotateOutcome{auth.Rotated, auth.Grace} {
		t.Run(outcome.String(), func(t *testing.T) {
			h := newHarness(t)
			h.now = t0.Add(2 * time.Hour)
			authAt := t0.Add(-time.Hour)
			sess := auth.Session{
				ID: "sess-1", UserID: alice.ID, CreatedAt: t0, ExpiresAt: h.now.Add(refreshTT),
				Auth: auth.Authentication{AMR: []string{"pwd", "mfa", "rec"}, Time: authAt},
			}
			u := alice
			u.Role = "auditor" // the store's role, not the old token's
			h.store.rotateResult = auth.RotationResult{Outcome: outcome, Session: sess, User: u}
			presented := newRefresh(t)
			iss, err := h.svc.Refresh(ctx, presented, origin)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.store.rotations) != 1 {
				t.Fatalf("rotations = %d", len(h.store.rotations))
			}
			r := h.store.rotations[0]
			if r.PresentedHash != token.HashRefreshToken(presented) || r.NewHash != token.HashRefreshToken(iss.RefreshToken) {
				t.Fatal("rotation hashes do not match the presented and the issued refresh tokens")
			}
			if iss.RefreshToken == presented || !token.LooksLikeRefreshToken(iss.RefreshToken) {
				t.Fatalf("new refresh token %q", iss.RefreshToken)
			}
			if !r.Now.Equal(h.now) || r.SessionTTL != refreshTT || r.ReuseInterval != reuseIvl ||
				!r.RevokeUntil.Equal(h.now.Add(accessTTL+verify.MaxLeeway)) {
				t.Fatalf("rotation = %+v", r)
			}
			if len(r.Renewed.Audit) != 1 || r.Renewed.Audit[0].Event != auth.AuditRefreshed || r.Renewed.Audit[0].IP != origin.IP {
				t.Fatalf("Renewed effects = %+v", r.Renewed.Audit)
			}
			if len(r.Reused.Audit) != 1 || r.Reused.Audit[0].Event != auth.AuditRefreshReused || r.Reused.Audit[0].Detail != "session=revoked" {
				t.Fatalf("Reused effects = %+v", r.Reused.Audit)
			}
			if r.Renewed.AuditFailed == nil || r.Reused.AuditFailed == nil {
				t.Fatal("rotation effects lack AuditFailed")
			}

			c := h.claims(t, iss.AccessToken)
			if c.SessionID != "sess-1" || c.Subject != alice.ID || c.Role != "auditor" {
				t.Fatalf("claims = %+v", c)
			}
			if !slices.Equal(c.AMR, []string{"pwd", "mfa", "rec"}) || !c.AuthTime.Equal(authAt) {
				t.Fatalf("amr %q auth_time %v, want the session's [pwd mfa rec] %v", c.AMR, c.AuthTime, authAt)
			}
			if !c.IssuedAt.Equal(h.now) {
				t.Fatalf("iat = %v, want %v", c.IssuedAt, h.now)
			}
			if iss.SessionID != "sess-1" {
				t.Fatalf("issued session = %q", iss.SessionID)
			}
			if len(h.cache.sess) != 1 || h.cache.sess[0].ID != "sess-1" || h.cache.user[0].Role != "auditor" {
				t.Fatalf("Remember calls = %+v %+v", h.cache.sess, h.cache.user)
			}
			if len(h.deny.calls) != 0 {
				t.Fatalf("denylist told %+v on a renewal", h.deny.calls)
			}
		})
	}
}

func TestRefreshReused(t *testing.T) {
	h := newHarness(t)
	recs := []auth.Revocation{{Kind: auth.RevokedSession, ID: "sess-1", ExpiresAt: t0.Add(time.Hour)}}
	h.store.rotateResult = auth.RotationResult{
		Outcome: auth.Reused, Session: auth.Session{ID: "sess-1", UserID: alice.ID}, User: alice, Revocations: recs,
	}
	iss, err := h.svc.Refresh(ctx, newRefresh(t), origin)
	if !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("err = %v, want ErrBadRefresh", err)
	}
	if iss != (Issued{}) {
		t.Fatalf("issued %+v on reuse", iss)
	}
	if len(h.deny.calls) != 1 || !slices.Equal(h.deny.calls[0], recs) {
		t.Fatalf("denylist calls = %+v, want [%+v]", h.deny.calls, recs)
	}
	if len(h.cache.sess) != 0 {
		t.Fatal("reused session remembered")
	}
}

func TestRefreshInactiveUser(t *testing.T) {
	h := newHarness(t)
	u := alice
	u.Active = false
	h.store.rotateResult = auth.RotationResult{
		Outcome: auth.Rotated, Session: auth.Session{ID: "sess-1", UserID: alice.ID, ExpiresAt: t0.Add(time.Hour)}, User: u,
	}
	if _, err := h.svc.Refresh(ctx, newRefresh(t), origin); !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("err = %v, want ErrBadRefresh", err)
	}
	if len(h.cache.sess) != 0 {
		t.Fatal("session of a disabled user remembered")
	}
}

func TestRefreshStoreErrors(t *testing.T) {
	h := newHarness(t)
	h.store.rotateErr = auth.Errorf(auth.EUnauthenticated, "unknown refresh token")
	if _, err := h.svc.Refresh(ctx, newRefresh(t), origin); !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("unknown token: err = %v, want ErrBadRefresh", err)
	}
	down := auth.Errorf(auth.EUnavailable, "database down")
	h.store.rotateErr = down
	if _, err := h.svc.Refresh(ctx, newRefresh(t), origin); !errors.Is(err, down) {
		t.Fatalf("store down: err = %v, want it passed as is", err)
	}
}

func TestLogoutScopes(t *testing.T) {
	p := auth.Principal{UserID: alice.ID, Username: "alice", SessionID: "sess-1", Role: auth.RoleAdmin}
	for _, tc := range []struct {
		scope  Scope
		filter auth.SessionFilter
		detail string
	}{
		{ScopeSession, auth.SessionFilter{SessionID: "sess-1"}, "scope=session"},
		{ScopeGlobal, auth.SessionFilter{UserID: alice.ID}, "scope=global"},
		{ScopeOthers, auth.SessionFilter{UserID: alice.ID, ExceptSessionID: "sess-1"}, "scope=others"},
	} {
		t.Run(tc.scope.String(), func(t *testing.T) {
			h := newHarness(t)
			recs := []auth.Revocation{{Kind: auth.RevokedSession, ID: "x", ExpiresAt: t0}}
			h.store.revokeRecs = recs
			if err := h.svc.Logout(ctx, p, tc.scope, origin); err != nil {
				t.Fatal(err)
			}
			if len(h.store.revokes) != 1 {
				t.Fatalf("RevokeSessions called %d times", len(h.store.revokes))
			}
			rc := h.store.revokes[0]
			if rc.f != tc.filter {
				t.Fatalf("filter = %+v, want %+v", rc.f, tc.filter)
			}
			if !rc.until.Equal(t0.Add(accessTTL + verify.MaxLeeway)) {
				t.Fatalf("until = %v", rc.until)
			}
			if len(rc.fx.Audit) != 1 || rc.fx.Audit[0].Event != auth.AuditLogout || rc.fx.Audit[0].Detail != tc.detail ||
				rc.fx.Audit[0].UserID != alice.ID || rc.fx.Audit[0].SessionID != "sess-1" {
				t.Fatalf("logout event = %+v", rc.fx.Audit)
			}
			if len(h.deny.calls) != 1 || !slices.Equal(h.deny.calls[0], recs) {
				t.Fatalf("denylist = %+v", h.deny.calls)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]Scope{"": ScopeSession, "local": ScopeSession, "session": ScopeSession, "global": ScopeGlobal, "others": ScopeOthers} {
		if got, err := ParseScope(in); err != nil || got != want {
			t.Fatalf("ParseScope(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseScope("everything"); auth.ErrorCode(err) != auth.EInvalid {
		t.Fatalf("ParseScope(everything) err = %v", err)
	}
}

func TestRevokeAccessToken(t *testing.T) {
	h := newHarness(t)
	bobs, err := h.svc.Start(ctx, bob, auth.Authentication{AMR: []string{"pwd"}}, origin, auth.Effects{})
	if err != nil {
		t.Fatal(err)
	}
	c := h.claims(t, bobs.AccessToken)
	carol := auth.Principal{UserID: "u-carol", Username: "carol", Role: auth.RoleUser, SessionID: "s-c"}

	if err := h.svc.Revoke(ctx, carol, bobs.AccessToken, origin); auth.ErrorCode(err) != auth.EForbidden {
		t.Fatalf("non-admin revoking another's token: err = %v, want EForbidden", err)
	}
	if len(h.store.tokenRevokes) != 0 || len(h.deny.calls) != 0 {
		t.Fatal("token revoked for a caller who may not")
	}

	admin := auth.Principal{UserID: alice.ID, Username: "alice", Role: auth.RoleAdmin, SessionID: "s-a"}
	if err := h.svc.Revoke(ctx, admin, bobs.AccessToken, origin); err != nil {
		t.Fatalf("admin revoke: %v", err)
	}
	if len(h.store.tokenRevokes) != 1 || h.store.tokenRevokes[0].jti != c.ID {
		t.Fatalf("RevokeToken calls = %+v, want jti %q", h.store.tokenRevokes, c.ID)
	}
	tr := h.store.tokenRevokes[0]
	if !tr.until.Equal(c.ExpiresAt.Add(verify.MaxLeeway)) {
		t.Fatalf("until = %v, want exp+leeway %v", tr.until, c.ExpiresAt.Add(verify.MaxLeeway))
	}
	if len(tr.fx.Audit) != 1 || tr.fx.Audit[0].Event != auth.AuditRevoked || tr.fx.Audit[0].UserID != bob.ID ||
		tr.fx.Audit[0].Detail != "token=access jti="+c.ID {
		t.Fatalf("revoke event = %+v", tr.fx.Audit)
	}
	if len(h.deny.calls) != 1 || len(h.deny.calls[0]) != 1 || h.deny.calls[0][0].ID != c.ID || h.deny.calls[0][0].Kind != auth.RevokedToken {
		t.Fatalf("denylist = %+v", h.deny.calls)
	}

	// The owner may revoke their own token.
	own := auth.Principal{UserID: bob.ID, Username: "bob", Role: auth.RoleUser, SessionID: bobs.SessionID}
	if err := h.svc.Revoke(ctx, own, bobs.AccessToken, origin); err != nil {
		t.Fatalf("owner revoke: %v", err)
	}
	// An invalid token needs nothing and is no error.
	before := len(h.store.tokenRevokes)
	if err := h.svc.Revoke(ctx, carol, "not.a.token", origin); err != nil {
		t.Fatalf("invalid token: %v", err)
	}
	if len(h.store.tokenRevokes) != before {
		t.Fatal("invalid token revoked")
	}
}

func TestRevokeRefreshToken(t *testing.T) {
	h := newHarness(t)
	tok := newRefresh(t)
	h.store.byHash[token.HashRefreshToken(tok)] = auth.Session{ID: "sess-bob", UserID: bob.ID}
	h.store.users[bob.ID] = bob
	carol := auth.Principal{UserID: "u-carol", Username: "carol", Role: auth.RoleUser}
	if err := h.svc.Revoke(ctx, carol, tok, origin); auth.ErrorCode(err) != auth.EForbidden {
		t.Fatalf("non-admin: err = %v, want EForbidden", err)
	}
	if len(h.store.revokes) != 0 {
		t.Fatal("session revoked for a caller who may not")
	}
	admin := auth.Principal{UserID: alice.ID, Username: "alice", Role: auth.RoleAdmin}
	if err := h.svc.Revoke(ctx, admin, tok, origin); err != nil {
		t.Fatal(err)
	}
	if len(h.store.revokes) != 1 || h.store.revokes[0].f != (auth.SessionFilter{SessionID: "sess-bob"}) {
		t.Fatalf("RevokeSessions = %+v", h.store.revokes)
	}
	e := h.store.revokes[0].fx.Audit
	if len(e) != 1 || e[0].Event != auth.AuditRevoked || e[0].UserID != bob.ID || e[0].Username != "bob" || e[0].Detail != "token=refresh" {
		t.Fatalf("revoke event = %+v", e)
	}
	// An unknown refresh token is not an error.
	if err := h.svc.Revoke(ctx, carol, newRefresh(t), origin); err != nil {
		t.Fatalf("unknown refresh token: %v", err)
	}
}

func TestEndSession(t *testing.T) {
	h := newHarness(t)
	h.store.byID["sess-bob"] = auth.Session{ID: "sess-bob", UserID: bob.ID}
	h.store.users[bob.ID] = bob
	if err := h.svc.EndSession(ctx, "sess-bob", origin); err != nil {
		t.Fatal(err)
	}
	if len(h.store.revokes) != 1 || h.store.revokes[0].f != (auth.SessionFilter{SessionID: "sess-bob"}) {
		t.Fatalf("RevokeSessions = %+v", h.store.revokes)
	}
	if e := h.store.revokes[0].fx.Audit; len(e) != 1 || e[0].Event != auth.AuditSessionEnded || e[0].Username != "bob" {
		t.Fatalf("event = %+v", e)
	}
	if err := h.svc.EndSession(ctx, "nope", origin); auth.ErrorCode(err) != auth.ENotFound {
		t.Fatalf("unknown session: err = %v", err)
	}
}
