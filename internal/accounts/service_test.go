package accounts

import (
	"context"
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
	"github.com/gatehouse/gatehouse/verify"
)

var ctx = context.Background()

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const accessTTL = 30 * time.Minute

type updateCall struct {
	id    string
	upd   auth.UserUpdate
	end   auth.EndSessions
	until time.Time
	fx    auth.Effects
}

type deleteCall struct {
	id          string
	until       time.Time
	keepAnAdmin bool
	fx          auth.Effects
}

type fakeStore struct {
	mu      sync.Mutex
	users   map[string]auth.User
	created []auth.User
	updates []updateCall
	deletes []deleteCall
	recs    []auth.Revocation // returned by UpdateUser and DeleteUser
	err     error             // returned by UpdateUser and DeleteUser
}

func (f *fakeStore) CreateUser(_ context.Context, u *auth.User, fx auth.Effects) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u.ID = "u-new"
	f.created = append(f.created, *u)
	return nil
}

func (f *fakeStore) UserByID(_ context.Context, id string) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return auth.User{}, auth.Errorf(auth.ENotFound, "no user")
	}
	return u, nil
}

func (f *fakeStore) UserByName(context.Context, string) (auth.User, error) {
	return auth.User{}, auth.Errorf(auth.ENotFound, "no user")
}

func (f *fakeStore) ListUsers(context.Context, string, int) ([]auth.User, error) { return nil, nil }

func (f *fakeStore) UpdateUser(_ context.Context, id string, u auth.UserUpdate, end auth.EndSessions, until time.Time, fx auth.Effects) (auth.User, []auth.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, updateCall{id, u, end, until, fx})
	if f.err != nil {
		return auth.User{}, nil, f.err
	}
	return f.users[id], f.recs, nil
}

func (f *fakeStore) DeleteUser(_ context.Context, id string, until time.Time, keepAnAdmin bool, fx auth.Effects) ([]auth.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, deleteCall{id, until, keepAnAdmin, fx})
	if f.err != nil {
		return nil, f.err
	}
	return f.recs, nil
}

// fakePasswords accepts pw for the hash "hash:"+pw.
type fakePasswords struct {
	hashes, verifies int
}

func (f *fakePasswords) Hash(_ context.Context, pw string) (string, error) {
	f.hashes++
	return "hash:" + pw, nil
}

func (f *fakePasswords) Verify(_ context.Context, pw, hash string) (bool, bool, error) {
	f.verifies++
	return hash == "hash:"+pw, false, nil
}

func (f *fakePasswords) VerifyUnknownUser(context.Context, string) error {
	f.verifies++
	return nil
}

type fakeDenylist struct{ calls [][]auth.Revocation }

func (d *fakeDenylist) Record(_ context.Context, recs ...auth.Revocation) {
	d.calls = append(d.calls, append([]auth.Revocation(nil), recs...))
}

type guessCall struct{ op, account, addr string }

type fakeGuesses struct {
	wait  time.Duration
	calls []guessCall
}

func (g *fakeGuesses) Wait(_ context.Context, account, addr string) (time.Duration, error) {
	g.calls = append(g.calls, guessCall{"wait", account, addr})
	return g.wait, nil
}

func (g *fakeGuesses) Failed(_ context.Context, account, addr string) error {
	g.calls = append(g.calls, guessCall{"failed", account, addr})
	return nil
}

func (g *fakeGuesses) Succeeded(_ context.Context, account, addr string) error {
	g.calls = append(g.calls, guessCall{"succeeded", account, addr})
	return nil
}

// auditStore keeps events in memory.
type auditStore = testkit.AuditLog

type harness struct {
	svc     *Service
	store   *fakeStore
	pw      *fakePasswords
	deny    *fakeDenylist
	guesses *fakeGuesses
	audit   *auditStore
	policy  []string // passwords the policy saw
}

var (
	// The username is stored NFKC-normalized but not case-folded: the
	// throttle counts by UsernameKey.
	carol  = auth.User{ID: "u-carol", Username: "Carol", Role: auth.RoleUser, Active: true, PasswordHash: "hash:old-password"}
	origin = auth.Origin{IP: "203.0.113.9", UserAgent: "ua"}
	recs   = []auth.Revocation{{Kind: auth.RevokedSession, ID: "s1", ExpiresAt: t0}, {Kind: auth.RevokedSession, ID: "s2", ExpiresAt: t0}}
)

var errPolicy = errors.New("password must be at least 8 characters")

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		store:   &fakeStore{users: map[string]auth.User{carol.ID: carol}},
		pw:      &fakePasswords{},
		deny:    &fakeDenylist{},
		guesses: &fakeGuesses{},
		audit:   &auditStore{},
	}
	rec := audit.New(h.audit, slog.New(slog.NewTextHandler(io.Discard, nil)), 0)
	rec.Now = func() time.Time { return t0 }
	h.svc = New(Config{
		Store: h.store, Passwords: h.pw, Denylist: h.deny, Guesses: h.guesses, AccessTTL: accessTTL,
		Now: func() time.Time { return t0 }, Audit: rec,
		Policy: func(pw string) error {
			h.policy = append(h.policy, pw)
			if len(pw) < 8 {
				return errPolicy
			}
			return nil
		},
	})
	return h
}

func ptr[T any](v T) *T { return &v }

var wantUntil = t0.Add(accessTTL + verify.MaxLeeway)

func (h *harness) onlyUpdate(t *testing.T) updateCall {
	t.Helper()
	if len(h.store.updates) != 1 {
		t.Fatalf("UpdateUser called %d times, want 1", len(h.store.updates))
	}
	return h.store.updates[0]
}

func TestUpdateEndsSessionsForChangesThatMakeTokensLie(t *testing.T) {
	for name, p := range map[string]Patch{
		"role":     {Role: ptr(auth.RoleAdmin)},
		"active":   {Active: ptr(false)},
		"enable":   {Active: ptr(true)},
		"password": {Password: ptr("new-password-1")},
		"all":      {Role: ptr(auth.RoleAdmin), Active: ptr(false), Password: ptr("new-password-1")},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.store.recs = recs
			if _, err := h.svc.Update(ctx, carol.ID, p, origin); err != nil {
				t.Fatal(err)
			}
			c := h.onlyUpdate(t)
			if c.id != carol.ID || c.end != (auth.EndSessions{All: true}) {
				t.Fatalf("UpdateUser(%q, end %+v), want EndSessions{All:true}", c.id, c.end)
			}
			if !c.until.Equal(wantUntil) {
				t.Fatalf("until = %v, want %v", c.until, wantUntil)
			}
			if !c.upd.KeepAnAdmin {
				t.Fatal("KeepAnAdmin not set without Force")
			}
			if len(h.deny.calls) != 1 || !slices.Equal(h.deny.calls[0], recs) {
				t.Fatalf("denylist = %+v, want %+v", h.deny.calls, recs)
			}
			if len(c.fx.Audit) != 1 || c.fx.Audit[0].Event != auth.AuditUserUpdated {
				t.Fatalf("effects = %+v", c.fx.Audit)
			}
			if p.Password != nil {
				if c.upd.PasswordHash == nil || *c.upd.PasswordHash != "hash:"+*p.Password {
					t.Fatalf("password hash = %v", c.upd.PasswordHash)
				}
				if d := c.fx.Audit[0].Detail; d == "" || strings.Contains(d, *p.Password) {
					t.Fatalf("audit detail %q shows the password", d)
				}
			}
		})
	}
}

func TestUpdateDetail(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.Update(ctx, carol.ID, Patch{Role: ptr(auth.RoleAdmin), Active: ptr(false), Password: ptr("new-password-1")}, origin); err != nil {
		t.Fatal(err)
	}
	if d := h.onlyUpdate(t).fx.Audit[0].Detail; d != "role=admin active=false password=changed" {
		t.Fatalf("detail = %q", d)
	}
}

func TestUpdateNothingEndsNothing(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.Update(ctx, carol.ID, Patch{}, origin); err != nil {
		t.Fatal(err)
	}
	c := h.onlyUpdate(t)
	if c.end != (auth.EndSessions{}) {
		t.Fatalf("end = %+v, want the zero EndSessions", c.end)
	}
	if !c.upd.Empty() {
		t.Fatalf("update = %+v, want empty", c.upd)
	}
	if h.pw.hashes != 0 {
		t.Fatal("hashed without a password")
	}
	if d := c.fx.Audit[0].Detail; d != "nothing" {
		t.Fatalf("detail = %q", d)
	}
}

func TestUpdateForce(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.Update(ctx, carol.ID, Patch{Role: ptr(auth.RoleUser), Force: true}, origin); err != nil {
		t.Fatal(err)
	}
	if h.onlyUpdate(t).upd.KeepAnAdmin {
		t.Fatal("KeepAnAdmin set with Force")
	}
	h = newHarness(t)
	if _, err := h.svc.Update(ctx, carol.ID, Patch{Role: ptr(auth.RoleUser)}, origin); err != nil {
		t.Fatal(err)
	}
	if !h.onlyUpdate(t).upd.KeepAnAdmin {
		t.Fatal("KeepAnAdmin not set without Force")
	}
}

func TestUpdateStoreErrorRecordsNothing(t *testing.T) {
	h := newHarness(t)
	h.store.err = auth.ErrLastAdmin
	h.store.recs = recs
	_, err := h.svc.Update(ctx, carol.ID, Patch{Active: ptr(false)}, origin)
	if !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("err = %v, want ErrLastAdmin", err)
	}
	if len(h.deny.calls) != 0 {
		t.Fatal("denylist told of a change that failed")
	}
}

func TestUpdateRejectsBadRoleAndPolicy(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.Update(ctx, carol.ID, Patch{Role: ptr(auth.Role("Not A Role"))}, origin); auth.ErrorCode(err) != auth.EInvalid {
		t.Fatalf("bad role: err = %v, want EInvalid", err)
	}
	if _, err := h.svc.Update(ctx, carol.ID, Patch{Password: ptr("short")}, origin); auth.ErrorCode(err) != auth.EInvalid {
		t.Fatalf("policy: err = %v, want EInvalid", err)
	}
	if h.pw.hashes != 0 || len(h.store.updates) != 0 {
		t.Fatalf("hashes=%d updates=%d after refusals", h.pw.hashes, len(h.store.updates))
	}
	if !slices.Equal(h.policy, []string{"short"}) {
		t.Fatalf("policy saw %q", h.policy)
	}
}

func TestCreateAppliesPolicy(t *testing.T) {
	h := newHarness(t)
	_, err := h.svc.Create(ctx, NewUser{Username: "dave", Password: "short", Role: auth.RoleUser, Active: true}, origin)
	if auth.ErrorCode(err) != auth.EInvalid || auth.ErrorMessage(err) != errPolicy.Error() {
		t.Fatalf("err = %v, want EInvalid with the policy's message", err)
	}
	if h.pw.hashes != 0 || len(h.store.created) != 0 {
		t.Fatal("hashed or stored despite the policy")
	}
	u, err := h.svc.Signup(ctx, "Dave", "long-enough-1", "", origin)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "u-new" || u.Role != auth.RoleUser || !u.Active || u.PasswordHash != "hash:long-enough-1" {
		t.Fatalf("signed up %+v", u)
	}
}

func TestChangePassword(t *testing.T) {
	h := newHarness(t)
	h.store.recs = recs
	p := auth.Principal{UserID: carol.ID, Username: "Carol", SessionID: "sess-here"}
	if err := h.svc.ChangePassword(ctx, p, "old-password", "new-password-1", origin); err != nil {
		t.Fatal(err)
	}
	c := h.onlyUpdate(t)
	if c.end != (auth.EndSessions{All: true, Except: "sess-here"}) {
		t.Fatalf("end = %+v, want all but sess-here", c.end)
	}
	if c.upd.PasswordHash == nil || *c.upd.PasswordHash != "hash:new-password-1" || c.upd.Role != nil || c.upd.Active != nil {
		t.Fatalf("update = %+v", c.upd)
	}
	if !c.until.Equal(wantUntil) {
		t.Fatalf("until = %v", c.until)
	}
	if len(c.fx.Audit) != 1 || c.fx.Audit[0].Event != auth.AuditPasswordChanged || c.fx.Audit[0].SessionID != "sess-here" {
		t.Fatalf("effects = %+v", c.fx.Audit)
	}
	if len(h.deny.calls) != 1 || !slices.Equal(h.deny.calls[0], recs) {
		t.Fatalf("denylist = %+v", h.deny.calls)
	}
	key := auth.UsernameKey("Carol")
	if !slices.Equal(h.guesses.calls, []guessCall{{"wait", key, origin.IP}, {"succeeded", key, origin.IP}}) {
		t.Fatalf("guesses = %+v", h.guesses.calls)
	}
	if len(h.audit.All()) != 0 {
		t.Fatalf("recorded directly: %+v", h.audit.All())
	}
}

func TestChangePasswordWrongCurrent(t *testing.T) {
	h := newHarness(t)
	p := auth.Principal{UserID: carol.ID, Username: "Carol", SessionID: "sess-here"}
	err := h.svc.ChangePassword(ctx, p, "not-my-password", "new-password-1", origin)
	if auth.ErrorCode(err) != auth.EUnauthenticated {
		t.Fatalf("err = %v, want EUnauthenticated (401)", err)
	}
	key := auth.UsernameKey("Carol")
	if key != "carol" {
		t.Fatalf("UsernameKey = %q", key)
	}
	if !slices.Equal(h.guesses.calls, []guessCall{{"wait", key, origin.IP}, {"failed", key, origin.IP}}) {
		t.Fatalf("guesses = %+v", h.guesses.calls)
	}
	if len(h.audit.All()) != 1 {
		t.Fatalf("audit = %+v, want one event", h.audit.All())
	}
	e := h.audit.All()[0]
	if e.Event != auth.AuditPasswordCheckFailed || e.Detail != auth.AuditReasonWrongPassword || e.UserID != carol.ID || e.IP != origin.IP {
		t.Fatalf("audit = %+v", e)
	}
	if len(h.store.updates) != 0 || h.pw.hashes != 0 {
		t.Fatal("password changed despite a wrong current one")
	}
}

func TestChangePasswordThrottled(t *testing.T) {
	h := newHarness(t)
	h.guesses.wait = 42 * time.Second
	p := auth.Principal{UserID: carol.ID, Username: "Carol", SessionID: "sess-here"}
	err := h.svc.ChangePassword(ctx, p, "old-password", "new-password-1", origin)
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != auth.ETooMany || ae.RetryAfter != 42*time.Second {
		t.Fatalf("err = %#v, want ETooMany with RetryAfter 42s", err)
	}
	if h.pw.verifies != 0 {
		t.Fatal("Verify called while throttled")
	}
	if !slices.Equal(h.guesses.calls, []guessCall{{"wait", "carol", origin.IP}}) {
		t.Fatalf("guesses = %+v", h.guesses.calls)
	}
	if len(h.audit.All()) != 1 || h.audit.All()[0].Event != auth.AuditPasswordCheckFailed || h.audit.All()[0].Detail != auth.AuditReasonThrottled {
		t.Fatalf("audit = %+v", h.audit.All())
	}
	if len(h.store.updates) != 0 {
		t.Fatal("password changed while throttled")
	}
}

func TestChangePasswordPolicy(t *testing.T) {
	h := newHarness(t)
	p := auth.Principal{UserID: carol.ID, Username: "Carol", SessionID: "sess-here"}
	err := h.svc.ChangePassword(ctx, p, "old-password", "short", origin)
	if auth.ErrorCode(err) != auth.EInvalid {
		t.Fatalf("err = %v, want EInvalid", err)
	}
	if h.pw.hashes != 0 || len(h.store.updates) != 0 {
		t.Fatal("hashed or stored a password the policy refused")
	}
}

func TestDelete(t *testing.T) {
	for _, force := range []bool{false, true} {
		h := newHarness(t)
		h.store.recs = recs
		if err := h.svc.Delete(ctx, carol.ID, force, origin); err != nil {
			t.Fatal(err)
		}
		if len(h.store.deletes) != 1 {
			t.Fatalf("DeleteUser called %d times", len(h.store.deletes))
		}
		d := h.store.deletes[0]
		if d.id != carol.ID || d.keepAnAdmin != !force || !d.until.Equal(wantUntil) {
			t.Fatalf("force=%t: DeleteUser(%q, %v, keepAnAdmin=%t)", force, d.id, d.until, d.keepAnAdmin)
		}
		if len(d.fx.Audit) != 1 || d.fx.Audit[0].Event != auth.AuditUserDeleted || d.fx.Audit[0].Username != "Carol" || d.fx.Audit[0].Detail != "role=user" {
			t.Fatalf("effects = %+v", d.fx.Audit)
		}
		if len(h.deny.calls) != 1 || !slices.Equal(h.deny.calls[0], recs) {
			t.Fatalf("denylist = %+v", h.deny.calls)
		}
	}
	h := newHarness(t)
	if err := h.svc.Delete(ctx, "u-none", false, origin); auth.ErrorCode(err) != auth.ENotFound {
		t.Fatalf("unknown user: err = %v", err)
	}
	if len(h.store.deletes) != 0 {
		t.Fatal("DeleteUser called for an unknown user")
	}
}

func (f *fakeStore) UserByEmail(_ context.Context, addr string) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.Email != "" && auth.EmailKey(u.Email) == auth.EmailKey(addr) {
			return u, nil
		}
	}
	return auth.User{}, auth.Errorf(auth.ENotFound, "User not found")
}

func (f *fakeStore) LookupSecret(context.Context, auth.SecretPurpose, string, time.Time) (auth.OneTimeSecret, error) {
	return auth.OneTimeSecret{}, auth.Errorf(auth.ENotFound, "Secret not found")
}

func (f *fakeStore) ConsumeSecret(context.Context, auth.SecretPurpose, string, time.Time) (auth.OneTimeSecret, error) {
	return auth.OneTimeSecret{}, auth.Errorf(auth.ENotFound, "Secret not found")
}

func (f *fakeStore) EnqueueMail(context.Context, auth.Mail, auth.Effects) error { return nil }
