package login

import (
	"context"
	"errors"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/sessions"
)

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeUsers keeps users by UsernameKey.
type fakeUsers struct {
	mu       sync.Mutex
	byKey    map[string]auth.User
	byName   int // UserByName calls
	byID     int // UserByID calls
	setHash  map[string]string
	setCalls int
}

func newFakeUsers(us ...auth.User) *fakeUsers {
	f := &fakeUsers{byKey: map[string]auth.User{}, setHash: map[string]string{}}
	for _, u := range us {
		f.byKey[auth.UsernameKey(u.Username)] = u
	}
	return f
}

func (f *fakeUsers) UserByName(_ context.Context, name string) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byName++
	u, ok := f.byKey[auth.UsernameKey(name)]
	if !ok {
		return auth.User{}, auth.Errorf(auth.ENotFound, "no such user")
	}
	return u, nil
}

func (f *fakeUsers) UserByID(_ context.Context, id string) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byID++
	for _, u := range f.byKey {
		if u.ID == id {
			return u, nil
		}
	}
	return auth.User{}, auth.Errorf(auth.ENotFound, "no such user")
}

func (f *fakeUsers) SetPasswordHash(_ context.Context, id, hash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setCalls++
	f.setHash[id] = hash
	return nil
}

func (f *fakeUsers) lookups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byName + f.byID
}

// fakePasswords accepts pw for the hash "hash:"+pw.
type fakePasswords struct {
	mu        sync.Mutex
	admitErr  error
	rehash    bool
	admits    int
	verifies  int
	unknown   int
	hashes    int
	verifiedW []string // the passwords Verify got
}

func (f *fakePasswords) AdmitFor(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.admits++
	return f.admitErr
}

func (f *fakePasswords) Verify(_ context.Context, pw, hash string) (bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verifies++
	f.verifiedW = append(f.verifiedW, pw)
	ok := hash == "hash:"+pw
	return ok, ok && f.rehash, nil
}

func (f *fakePasswords) VerifyUnknownUser(_ context.Context, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unknown++
	return nil
}

func (f *fakePasswords) Hash(_ context.Context, pw string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hashes++
	return "hash:" + pw, nil
}

// work counts every call that does (or asks for) hashing work.
func (f *fakePasswords) work() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.admits + f.verifies + f.unknown + f.hashes
}

type throttleCall struct{ op, account, addr string }

// fakeThrottle records its calls; Wait answers wait.
type fakeThrottle struct {
	mu    sync.Mutex
	wait  time.Duration
	calls []throttleCall
}

func (f *fakeThrottle) record(op, account, addr string) {
	f.mu.Lock()
	f.calls = append(f.calls, throttleCall{op, account, addr})
	f.mu.Unlock()
}

func (f *fakeThrottle) Wait(_ context.Context, account, addr string) (time.Duration, error) {
	f.record("wait", account, addr)
	return f.wait, nil
}

func (f *fakeThrottle) Failed(_ context.Context, account, addr string) error {
	f.record("failed", account, addr)
	return nil
}

func (f *fakeThrottle) Succeeded(_ context.Context, account, addr string) error {
	f.record("succeeded", account, addr)
	return nil
}

func (f *fakeThrottle) ops() []throttleCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]throttleCall(nil), f.calls...)
}

type startCall struct {
	user auth.User
	auth auth.Authentication
	o    auth.Origin
	fx   auth.Effects
}

// fakeSessions records every Start.
type fakeSessions struct {
	mu     sync.Mutex
	starts []startCall
}

func (f *fakeSessions) Start(_ context.Context, u auth.User, a auth.Authentication, o auth.Origin, fx auth.Effects) (sessions.Issued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, startCall{u, a, o, fx})
	return sessions.Issued{AccessToken: "access", RefreshToken: "refresh", ExpiresIn: time.Minute, SessionID: "sid-" + u.ID}, nil
}

func (f *fakeSessions) calls() []startCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]startCall(nil), f.starts...)
}

// fakeAttempts is an in-memory auth.SecretStore for login attempts, with
// the documented semantics: every method decides under one mutex, so of
// concurrent ConsumeSecret calls exactly one succeeds.
type fakeAttempts struct {
	mu       sync.Mutex
	secrets  map[string]auth.OneTimeSecret // by purpose+hash
	issued   []auth.OneTimeSecret
	consumed int
	failed   int
	// beforeConsume, when set, is called (outside the lock) at the start
	// of each ConsumeSecret: a test's rendezvous point.
	beforeConsume func()
}

func newFakeAttempts() *fakeAttempts {
	return &fakeAttempts{secrets: map[string]auth.OneTimeSecret{}}
}

func key(p auth.SecretPurpose, hash string) string { return string(p) + "\x00" + hash }

var errNotFound = auth.Errorf(auth.ENotFound, "no such secret")

func (f *fakeAttempts) IssueSecret(_ context.Context, s auth.OneTimeSecret, voidOthers bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if voidOthers {
		return errors.New("fakeAttempts: voidOthers not expected for login attempts")
	}
	k := key(s.Purpose, s.Hash)
	if _, ok := f.secrets[k]; ok {
		return auth.Errorf(auth.EConflict, "hash taken")
	}
	f.secrets[k] = s
	f.issued = append(f.issued, s)
	return nil
}

func (f *fakeAttempts) LookupSecret(_ context.Context, p auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.secrets[key(p, hash)]
	if !ok || !s.Usable(now) {
		return auth.OneTimeSecret{}, errNotFound
	}
	return s, nil
}

func (f *fakeAttempts) ConsumeSecret(_ context.Context, p auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error) {
	if f.beforeConsume != nil {
		f.beforeConsume()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key(p, hash)
	s, ok := f.secrets[k]
	if !ok || !s.Usable(now) {
		return auth.OneTimeSecret{}, errNotFound
	}
	was := s
	s.UsedAt = now
	f.secrets[k] = s
	f.consumed++
	return was, nil
}

func (f *fakeAttempts) FailSecretAttempt(_ context.Context, p auth.SecretPurpose, hash string, now time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key(p, hash)
	s, ok := f.secrets[k]
	if !ok || !s.Usable(now) {
		return 0, errNotFound
	}
	s.AttemptsLeft--
	f.secrets[k] = s
	f.failed++
	return s.AttemptsLeft, nil
}

func (f *fakeAttempts) snapshot() (issued []auth.OneTimeSecret, consumed, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]auth.OneTimeSecret(nil), f.issued...), f.consumed, f.failed
}

// fakeFactor is a second factor that accepts one code.
type fakeFactor struct {
	method   string
	enrolled bool
	code     string
	amr      []string
	mu       sync.Mutex
	checks   int
}

func (f *fakeFactor) Method() string { return f.method }

func (f *fakeFactor) Enrolled(context.Context, auth.User) (bool, error) { return f.enrolled, nil }

func (f *fakeFactor) Check(_ context.Context, _ auth.User, code string, _ auth.Origin) ([]string, bool, error) {
	f.mu.Lock()
	f.checks++
	f.mu.Unlock()
	if code != f.code {
		return nil, false, nil
	}
	return append([]string(nil), f.amr...), true, nil
}

func totpFactor() *fakeFactor {
	return &fakeFactor{method: "totp", enrolled: true, code: "123456", amr: []string{auth.AMROTP, auth.AMRMFA}}
}

func recoveryFactor() *fakeFactor {
	return &fakeFactor{method: "recovery_code", enrolled: true, code: "rec-abcd-efgh", amr: []string{auth.AMRMFA, auth.AMRRecovery}}
}

// auditStore keeps events in memory.
type auditStore = testkit.AuditLog

// harness wires a Service over fakes.
type harness struct {
	svc      *Service
	users    *fakeUsers
	pw       *fakePasswords
	throttle *fakeThrottle
	sess     *fakeSessions
	attempts *fakeAttempts
	audit    *auditStore
	clock    *clock
}

var (
	alice = auth.User{ID: "u-alice", Username: "Alice", Role: auth.RoleAdmin, Active: true, PasswordHash: "hash:secret123"}
	bob   = auth.User{ID: "u-bob", Username: "bob", Role: auth.RoleUser, Active: false, PasswordHash: "hash:password456"}
)

var origin = auth.Origin{IP: "192.0.2.7", UserAgent: "test-agent"}

func newHarness(t *testing.T, factors ...SecondFactor) *harness {
	t.Helper()
	h := &harness{
		users:    newFakeUsers(alice, bob),
		pw:       &fakePasswords{},
		throttle: &fakeThrottle{},
		sess:     &fakeSessions{},
		attempts: newFakeAttempts(),
		audit:    &auditStore{},
		clock:    newClock(),
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := audit.New(h.audit, log, 0)
	rec.Now = h.clock.Now
	h.svc = New(Config{
		Users: h.users, Passwords: h.pw, Sessions: h.sess, Attempts: h.attempts,
		SecondFactors: factors, Throttle: h.throttle, Audit: rec, Now: h.clock.Now, Log: log,
	})
	return h
}
