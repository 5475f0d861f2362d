package app

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/totp"
)

// clock is a TOTP clock the test steps forward.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// step moves the clock one TOTP step on.
func (c *clock) step() { c.advance(totp.Period) }

// advance moves the clock d on.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mfaEnv is a running Gatehouse with a steppable TOTP clock.
type mfaEnv struct {
	*env
	clock *clock
}

func startMFA(t *testing.T, cfg config.Config) *mfaEnv {
	t.Helper()
	c := &clock{t: time.Now()}
	e := startWith(t, cfg, Options{MFAClock: c.now}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	return &mfaEnv{env: e, clock: c}
}

// code is the TOTP code of secret now, as the server's clock has it.
func (m *mfaEnv) code(secret []byte) string { return totp.Code(secret, totp.StepAt(m.clock.now())) }

// enrol turns TOTP on for the session p and returns the secret and the
// recovery codes. The confirming code's step is used up; the clock moves
// one step on, so that the next code is fresh.
func (m *mfaEnv) enrol(p pair, password string) ([]byte, []string) {
	m.t.Helper()
	r := m.do("POST", "/me/mfa/totp", p.access, map[string]string{"current_password": password})
	expect(m.t, r, 200, "")
	secret, err := totp.Decode(r.str(m.t, "secret"))
	if err != nil {
		m.t.Fatal(err)
	}
	r = m.do("POST", "/me/mfa/totp/confirm", p.access, map[string]string{"code": m.code(secret)})
	expect(m.t, r, 200, "")
	var codes []string
	for _, c := range r.json(m.t)["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	m.clock.step()
	return secret, codes
}

// startLogin sends the password step and returns the mfa_token.
func (m *mfaEnv) startLogin(user, pw string) string {
	m.t.Helper()
	r := m.do("POST", "/auth/login", "", map[string]string{"username": user, "password": pw})
	wantCode(m.t, r, 401, "mfa_required")
	return r.str(m.t, "mfa_token")
}

// finish sends the second step.
func (e *env) finish(tok, code string) resp {
	e.t.Helper()
	return e.do("POST", "/auth/login/mfa", "", map[string]string{"mfa_token": tok, "code": code})
}

func amrOf(t *testing.T, access string) []string {
	t.Helper()
	_, claims := segments(t, access)
	var out []string
	for _, m := range claims["amr"].([]any) {
		out = append(out, m.(string))
	}
	return out
}

// TestMFAEnrolAndLogin: the rows of §6, in the order a user meets them.
func TestMFAEnrolAndLogin(t *testing.T) {
	t.Parallel()
	m := startMFA(t, testConfig(t))
	bob := m.login("bob", "password456")
	other := m.login("bob", "password456")

	expect401(t, m.do("POST", "/me/mfa/totp", bob.access, map[string]string{"current_password": "wrong"}), "Current password is incorrect")
	r := m.do("POST", "/me/mfa/totp", bob.access, map[string]string{"current_password": "password456"})
	expect(t, r, 200, "")
	first := r.str(t, "secret")
	if !strings.HasPrefix(r.str(t, "otpauth_uri"), "otpauth://totp/") || !strings.HasPrefix(r.str(t, "qr_svg"), "<svg") {
		t.Fatalf("enrolment %s", r.body)
	}
	// A new call replaces the unconfirmed secret: the first one's codes fail.
	r = m.do("POST", "/me/mfa/totp", bob.access, map[string]string{"current_password": "password456"})
	second, _ := totp.Decode(r.str(t, "secret"))
	firstSecret, _ := totp.Decode(first)
	wantCode(t, m.do("POST", "/me/mfa/totp/confirm", bob.access, map[string]string{"code": m.code(firstSecret)}), 401, "invalid_mfa_code")
	wantCode(t, m.do("POST", "/me/mfa/totp/confirm", bob.access, map[string]string{"code": "000000"}), 401, "invalid_mfa_code")
	confirmStep := m.code(second)
	r = m.do("POST", "/me/mfa/totp/confirm", bob.access, map[string]string{"code": confirmStep})
	expect(t, r, 200, "")
	codes := r.json(t)["recovery_codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	// Confirming ended every other session, not this one.
	expect401(t, m.do("GET", "/me", other.access, nil), "Could not validate credentials")
	expect401(t, m.refresh(other.refresh), "Invalid or expired refresh token")
	if got := m.do("GET", "/me", bob.access, nil).json(t); got["mfa_enabled"] != true {
		t.Fatalf("/me %v", got)
	}
	wantCode(t, m.do("POST", "/me/mfa/totp", bob.access, map[string]string{"current_password": "password456"}), 409, "mfa_already_enabled")
	wantCode(t, m.do("POST", "/me/mfa/totp/confirm", bob.access, map[string]string{"code": confirmStep}), 409, "no_pending_enrollment")
	st := m.do("GET", "/me/mfa", bob.access, nil).json(t)
	if st["totp"] != true || st["recovery_codes_left"] != float64(10) {
		t.Fatalf("/me/mfa %v", st)
	}

	// The password alone: 401 mfa_required, no token. A wrong password
	// gives no hint that a second factor exists.
	r = m.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"})
	wantCode(t, r, 401, "mfa_required")
	body := r.json(t)
	if body["detail"] != "Second factor required" || body["expires_in"] != float64(300) || !slices.Equal(toStrings(body["methods"]), []string{"totp", "recovery_code"}) ||
		body["access_token"] != nil || r.header.Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("mfa_required %s %v", r.body, r.header)
	}
	tok := body["mfa_token"].(string)
	wrong := m.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "not-bobs"})
	unknown := m.do("POST", "/auth/login", "", map[string]string{"username": "nobody", "password": "not-bobs"})
	if !bytes.Equal(wrong.body, unknown.body) || wrong.status != 401 {
		t.Fatalf("wrong password %s, unknown user %s", wrong.body, unknown.body)
	}
	// The mfa_token is no bearer token anywhere.
	for _, path := range []string{"/me", "/me/mfa", "/admin/dashboard"} {
		expect401(t, m.do("GET", path, tok, nil), "Could not validate credentials")
	}
	expect401(t, m.refresh(tok), "Invalid or expired refresh token")

	// The code that confirmed enrolment cannot log in; the next step's can, once.
	wantCode(t, m.finish(tok, confirmStep), 401, "invalid_mfa_code")
	m.clock.step()
	next := m.code(second)
	r = m.finish(tok, next)
	expect(t, r, 200, "")
	access := r.str(t, "access_token")
	if got := amrOf(t, access); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("amr %v", got)
	}
	// The same code again, on a new attempt: refused.
	wantCode(t, m.finish(m.startLogin("bob", "password456"), next), 401, "invalid_mfa_code")
	// A used attempt is gone.
	wantCode(t, m.finish(tok, next), 401, "invalid_mfa_token")
	// Refresh keeps amr and auth_time.
	_, before := segments(t, access)
	r = m.refresh(r.str(t, "refresh_token"))
	expect(t, r, 200, "")
	_, after := segments(t, r.str(t, "access_token"))
	if !slices.Equal(amrOf(t, r.str(t, "access_token")), []string{"pwd", "otp", "mfa"}) || after["auth_time"] != before["auth_time"] {
		t.Fatalf("after a refresh: amr %v auth_time %v, before %v", after["amr"], after["auth_time"], before["auth_time"])
	}

	// A recovery code logs in once, in any case and without its hyphens.
	rec := codes[0].(string)
	r = m.finish(m.startLogin("bob", "password456"), strings.ToUpper(strings.ReplaceAll(rec, "-", "")))
	expect(t, r, 200, "")
	if got := amrOf(t, r.str(t, "access_token")); !slices.Equal(got, []string{"pwd", "mfa", "rec"}) {
		t.Fatalf("amr %v", got)
	}
	wantCode(t, m.finish(m.startLogin("bob", "password456"), rec), 401, "invalid_mfa_code")
	if st := m.do("GET", "/me/mfa", bob.access, nil).json(t); st["recovery_codes_left"] != float64(9) {
		t.Fatalf("/me/mfa %v", st)
	}

	// Five wrong codes end an attempt; a right one after them is refused.
	tok = m.startLogin("bob", "password456")
	for range 5 {
		wantCode(t, m.finish(tok, "000000"), 401, "invalid_mfa_code")
	}
	m.clock.step()
	wantCode(t, m.finish(tok, m.code(second)), 401, "invalid_mfa_token")

	// New recovery codes need a TOTP code, not a recovery code; the old set dies.
	wantCode(t, m.do("POST", "/me/mfa/recovery-codes", bob.access, map[string]string{"code": codes[1].(string)}), 401, "invalid_mfa_code")
	r = m.do("POST", "/me/mfa/recovery-codes", bob.access, map[string]string{"code": m.code(second)})
	expect(t, r, 200, "")
	renewed := r.json(t)["recovery_codes"].([]any)
	wantCode(t, m.finish(m.startLogin("bob", "password456"), codes[1].(string)), 401, "invalid_mfa_code")

	// Turning it off needs the password and a code.
	expect401(t, m.do("POST", "/me/mfa/disable", bob.access, map[string]string{"current_password": "wrong", "code": renewed[0].(string)}), "Current password is incorrect")
	wantCode(t, m.do("POST", "/me/mfa/disable", bob.access, map[string]string{"current_password": "password456", "code": "000000"}), 401, "invalid_mfa_code")
	expect(t, m.do("POST", "/me/mfa/disable", bob.access, map[string]string{"current_password": "password456", "code": renewed[0].(string)}), 204, "")
	if got := m.do("GET", "/me", bob.access, nil).json(t); got["mfa_enabled"] != false {
		t.Fatalf("/me after disable %v", got)
	}
	if got := amrOf(t, m.login("bob", "password456").access); !slices.Equal(got, []string{"pwd"}) {
		t.Fatalf("amr without a second factor %v", got)
	}
	wantCode(t, m.do("POST", "/me/mfa/disable", bob.access, map[string]string{"current_password": "password456", "code": "000000"}), 409, "mfa_not_enabled")
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestMFAAdminReset: an administrator turns a user's factor off; the
// user's sessions end. The command line does the same.
func TestMFAAdminReset(t *testing.T) {
	t.Parallel()
	m := startMFA(t, testConfig(t))
	admin := m.login("alice", "secret123")
	bob := m.login("bob", "password456")
	m.enrol(bob, "password456")
	me := m.do("GET", "/me", bob.access, nil)
	id := me.str(t, "id")
	expect(t, m.do("DELETE", "/admin/users/"+id+"/mfa", bob.access, nil), 403, "Admin access required")
	expect(t, m.do("DELETE", "/admin/users/"+id+"/mfa", admin.access, nil), 204, "")
	expect401(t, m.do("GET", "/me", bob.access, nil), "Could not validate credentials")
	if got := amrOf(t, m.login("bob", "password456").access); !slices.Equal(got, []string{"pwd"}) {
		t.Fatalf("amr after a reset %v", got)
	}
	expect(t, m.do("DELETE", "/admin/users/"+id+"/mfa", admin.access, nil), 404, "")
	expect(t, m.do("DELETE", "/admin/users/0190a5c4-0000-7000-8000-000000000000/mfa", admin.access, nil), 404, "")
	m.wantAudit(time.Time{}, auth.AuditEvent{Event: auth.AuditMFAReset, UserID: id, Username: "bob", ActorID: claim(t, admin.access, "sub"),
		Actor: "alice", IP: "127.0.0.1", UserAgent: "Go-http-client/1.1", Detail: "sessions_ended=1"})
}

// TestMFARequiredRoles: with GATEHOUSE_MFA_REQUIRED_ROLES=admin, an
// administrator's session without a second factor gets 403
// mfa_enrollment_required on /admin/*, until they enrol and log in again.
func TestMFARequiredRoles(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MFARequiredRoles = []string{"admin"}
	m := startMFA(t, cfg)
	alice := m.login("alice", "secret123")
	wantCode(t, m.do("GET", "/admin/users", alice.access, nil), 403, "mfa_enrollment_required")
	expect(t, m.do("GET", "/me", alice.access, nil), 200, "") // only /admin/* is refused
	secret, _ := m.enrol(alice, "secret123")
	wantCode(t, m.do("GET", "/admin/users", alice.access, nil), 403, "mfa_enrollment_required") // this session has no mfa
	r := m.finish(m.startLogin("alice", "secret123"), m.code(secret))
	expect(t, r, 200, "")
	expect(t, m.do("GET", "/admin/users", r.str(t, "access_token"), nil), 200, "")
}

// TestMFARaces: 20 concurrent second steps with one TOTP code on 20
// attempts log in once; 20 concurrent uses of one recovery code, once.
func TestMFARaces(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			if backend == "postgres" {
				cfg.DatabaseURL = pgtest.Schema(t, pgtest.URL(t))
			}
			m := startMFA(t, cfg)
			secret, _ := m.enrol(m.login("bob", "password456"), "password456")
			_, codes := m.enrol(m.login("alice", "secret123"), "secret123")
			// Each race has a user of its own: its 19 losers count as
			// wrong codes of that user.
			for _, race := range []struct{ name, user, pw, code string }{
				{"totp", "bob", "password456", m.code(secret)}, {"recovery", "alice", "secret123", codes[0]},
			} {
				name, code := race.name, race.code
				toks := make([]string, 20)
				for i := range toks {
					toks[i] = m.startLogin(race.user, race.pw)
				}
				statuses := atOnce(20, func(i int) int { return m.invalid(anyRequest+"a race").finish(toks[i], code).status })
				won := 0
				for _, s := range statuses {
					switch s {
					case 200:
						won++
					case 401, 429: // a used code; past ten, the user's wrong codes are throttled
					default:
						t.Errorf("%s: status %d", name, s)
					}
				}
				if won != 1 {
					t.Fatalf("%s: %d of 20 logins with one code succeeded: %v", name, won, statuses)
				}
			}
		})
	}
}

// TestMFAThrottle: wrong codes are counted per user, over attempts: past
// the free ones, 429 with Retry-After, also for a right code.
func TestMFAThrottle(t *testing.T) {
	t.Parallel()
	m := startMFA(t, testConfig(t))
	secret, _ := m.enrol(m.login("bob", "password456"), "password456")
	var last resp
	for i := 0; i < 15; i++ {
		tok := m.startLogin("bob", "password456")
		if last = m.finish(tok, "000000"); last.status == 429 {
			break
		}
	}
	wantCode(t, last, 429, "too_many")
	if last.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	wantCode(t, m.finish(m.startLogin("bob", "password456"), m.code(secret)), 429, "too_many")
	found := false
	for _, e := range m.auditTrail() {
		found = found || e.Event == auth.AuditMFAFailed && strings.Contains(e.Detail, "throttled")
	}
	if !found {
		t.Fatal("no mfa.failed throttled event")
	}
}

// TestMFASecretSealed: with GATEHOUSE_ENCRYPTION_KEY the stored secret is
// sealed: neither its bytes nor its base32 form are in the database.
func TestMFASecretSealed(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.EncryptionKey = []byte("0123456789abcdef0123456789ABCDEF")
	m := startMFA(t, cfg)
	bob := m.login("bob", "password456")
	secret, _ := m.enrol(bob, "password456")
	db, err := sql.Open("sqlite", strings.TrimPrefix(cfg.DatabaseURL, "sqlite:")+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRowContext(context.Background(), `SELECT secret FROM mfa_totp`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "sealed:") || strings.Contains(stored, totp.Encode(secret)) || strings.Contains(stored, string(secret)) {
		t.Fatalf("stored secret %q", stored)
	}
	// And it works.
	expect(t, m.finish(m.startLogin("bob", "password456"), m.code(secret)), 200, "")
}

// TestMFANotices: turning a second factor on and off sends a notice to
// the verified address.
func TestMFANotices(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	alice := m.login("alice", "secret123")
	r := m.do("POST", "/me/mfa/totp", alice.access, map[string]string{"current_password": "secret123"})
	secret, _ := totp.Decode(r.str(t, "secret"))
	r = m.do("POST", "/me/mfa/totp/confirm", alice.access, map[string]string{"code": totp.Code(secret, totp.StepAt(time.Now()))})
	expect(t, r, 200, "")
	on := m.next()
	if on.to != "alice@example.com" || !strings.Contains(on.subject, "is on") || strings.Contains(on.text, "#token=") {
		t.Fatalf("notice %+v", on)
	}
	rec := r.json(t)["recovery_codes"].([]any)[0].(string)
	expect(t, m.do("POST", "/me/mfa/disable", alice.access, map[string]string{"current_password": "secret123", "code": rec}), 204, "")
	if off := m.next(); off.to != "alice@example.com" || !strings.Contains(off.subject, "is off") {
		t.Fatalf("notice %+v", off)
	}
}

// TestMFAWithoutPassword: a user without a password (signed in through
// an identity provider) enrols without current_password, if the login is
// under 10 minutes old; otherwise 403 reauthentication_required.
func TestMFAWithoutPassword(t *testing.T) {
	t.Parallel()
	m := startMFA(t, testConfig(t))
	ctx := context.Background()
	u := auth.User{Username: "fedora", Role: auth.RoleUser, Active: true}
	if err := m.app.Store.CreateUser(ctx, &u, auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	start := func(age time.Duration) string {
		iss, err := m.app.Sessions.Start(ctx, u, auth.Authentication{AMR: []string{auth.AMRFederated}, Time: time.Now().Add(-age)}, auth.Origin{}, auth.Effects{})
		if err != nil {
			t.Fatal(err)
		}
		return iss.AccessToken
	}
	wantCode(t, m.do("POST", "/me/mfa/totp", start(11*time.Minute), map[string]string{}), 403, "reauthentication_required")
	fresh := start(time.Minute)
	r := m.do("POST", "/me/mfa/totp", fresh, map[string]string{})
	expect(t, r, 200, "")
	secret, _ := totp.Decode(r.str(t, "secret"))
	expect(t, m.do("POST", "/me/mfa/totp/confirm", fresh, map[string]string{"code": m.code(secret)}), 200, "")
	m.clock.step()
	expect(t, m.do("POST", "/me/mfa/disable", fresh, map[string]string{"code": m.code(secret)}), 204, "")
}

// TestMFAReseal: a secret enrolled before an encryption key was set is
// sealed by `keys reseal` (Service.Reseal), and still works; a second
// reseal changes nothing.
func TestMFAReseal(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	m := startMFA(t, cfg)
	secret, _ := m.enrol(m.login("bob", "password456"), "password456")
	stored := func() string {
		db, err := sql.Open("sqlite", strings.TrimPrefix(cfg.DatabaseURL, "sqlite:")+"?_pragma=query_only(1)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var s string
		if err := db.QueryRow(`SELECT secret FROM mfa_totp`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if !strings.HasPrefix(stored(), "plain:") {
		t.Fatalf("without a key: %q", stored())
	}
	m.stop()

	cfg.EncryptionKey = []byte("0123456789abcdef0123456789ABCDEF")
	m = startMFA(t, cfg)
	if n, kept, err := m.app.MFA.Reseal(context.Background(), m.app.Store); err != nil || n != 1 || kept != 0 {
		t.Fatalf("reseal: %d resealed, %d kept, %v", n, kept, err)
	}
	if s := stored(); !strings.HasPrefix(s, "sealed:") || strings.Contains(s, totp.Encode(secret)) {
		t.Fatalf("after reseal: %q", s)
	}
	if n, kept, err := m.app.MFA.Reseal(context.Background(), m.app.Store); err != nil || n != 0 || kept != 1 {
		t.Fatalf("second reseal: %d resealed, %d kept, %v", n, kept, err)
	}
	m.clock.step()
	expect(t, m.finish(m.startLogin("bob", "password456"), m.code(secret)), 200, "")
}
