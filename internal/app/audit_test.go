package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/federation"
	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/totp"
)

const (
	testAgent = "audit-test/1.0"
	testIP    = "127.0.0.1"
)

// auditClient sends requests with a known user agent and remembers every
// password and token it sends or receives, to check that none of them
// reaches the audit trail.
type auditClient struct {
	*env
	t       *testing.T
	secrets []string
}

func (c *auditClient) do(method, path, bearer string, body any, hdr ...string) resp {
	c.t.Helper()
	if m, ok := body.(map[string]any); ok {
		for k, v := range m {
			if s, ok := v.(string); ok && strings.Contains(k, "password") {
				c.secrets = append(c.secrets, s)
			}
		}
	}
	r := c.env.do(method, path, bearer, body, append(hdr, "User-Agent", testAgent)...)
	if r.status == 200 && strings.Contains(string(r.body), "access_token") {
		c.secrets = append(c.secrets, r.str(c.t, "access_token"), r.str(c.t, "refresh_token"))
	}
	return r
}

func (c *auditClient) login(user, pw string) pair {
	c.t.Helper()
	r := c.do("POST", "/auth/login", "", map[string]any{"username": user, "password": pw})
	expect(c.t, r, 200, "")
	return pair{r.str(c.t, "access_token"), r.str(c.t, "refresh_token")}
}

// claim returns one claim of an access token, unverified.
func claim(t *testing.T, tok, name string) string {
	t.Helper()
	_, c := segments(t, tok)
	s, _ := c[name].(string)
	return s
}

// auditTrail returns every audit event, newest first.
func (e *env) auditTrail() []auth.AuditEvent {
	e.t.Helper()
	events, err := e.app.Store.AuditEvents(context.Background(), auth.AuditFilter{Limit: 100000})
	if err != nil {
		e.t.Fatalf("AuditEvents: %v", err)
	}
	return events
}

// wantAudit fails unless the newest event named want.Event about
// want.Username has exactly want's fields (but ID), and a time since since.
func (e *env) wantAudit(since time.Time, want auth.AuditEvent) auth.AuditEvent {
	e.t.Helper()
	for _, got := range e.auditTrail() {
		if got.Event != want.Event || got.Username != want.Username {
			continue
		}
		if got.Time.Before(since.Add(-time.Millisecond)) || got.Time.After(time.Now().Add(time.Second)) {
			e.t.Fatalf("%s at %v, want between %v and now", got.Event, got.Time, since)
		}
		at := got
		got.ID, got.Time = 0, time.Time{}
		if got != want {
			e.t.Fatalf("audit event:\n got %+v\nwant %+v", got, want)
		}
		return at
	}
	e.t.Fatalf("no %s event about %q in the audit trail:\n%+v", want.Event, want.Username, e.auditTrail())
	return auth.AuditEvent{}
}

// rawAuditRows reads every column of every audit row straight from the
// database file, as text.
func (e *env) rawAuditRows() []string {
	e.t.Helper()
	db, err := sql.Open("sqlite", strings.TrimPrefix(e.app.Config.DatabaseURL, "sqlite:")+"?_pragma=query_only(1)")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT * FROM audit_events`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%v", vals))
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestAuditTrailRecordsEveryEvent(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfg := mailConfig(t, smtp)
	cfg.ReuseInterval = 0
	op := oidctest.New(t)
	cfg = withProvider(t, cfg, op, federation.LinkNever)
	m := startMail(t, cfg, smtp)
	c := &auditClient{env: m.env, t: t}
	begin := time.Now()
	ctx := context.Background()
	userID := func(name string) string {
		u, err := c.app.Store.UserByName(ctx, name)
		if err != nil {
			t.Fatalf("user %s: %v", name, err)
		}
		return u.ID
	}
	aliceID, bobID := userID("alice"), userID("bob")
	from := func(e auth.AuditEvent) auth.AuditEvent {
		e.IP, e.UserAgent = testIP, testAgent
		return e
	}

	alice := c.login("alice", "secret123")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditLoginSucceeded, UserID: aliceID, Username: "alice", SessionID: claim(t, alice.access, "sid")}))

	// An unknown user and a wrong password get the same answer; only the
	// audit trail tells them apart.
	wrong := c.do("POST", "/auth/login", "", map[string]any{"username": "bob", "password": "not-bobs-password"})
	unknown := c.do("POST", "/auth/login", "", map[string]any{"username": "Mallory", "password": "mallorys-guess"})
	if wrong.status != 401 || unknown.status != 401 || !bytes.Equal(wrong.body, unknown.body) ||
		wrong.header.Get("WWW-Authenticate") != unknown.header.Get("WWW-Authenticate") {
		t.Fatalf("wrong password %d %s, unknown user %d %s: want the same 401", wrong.status, wrong.body, unknown.status, unknown.body)
	}
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditLoginFailed, UserID: bobID, Username: "bob", Detail: auth.AuditReasonWrongPassword}))
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditLoginFailed, Username: "Mallory", Detail: auth.AuditReasonUnknownUser}))

	for range 6 { // the free failures, then one that sets a wait
		expect(t, c.do("POST", "/auth/login", "", map[string]any{"username": "ghost", "password": "ghost-guess"}), 401, "")
	}
	expect(t, c.do("POST", "/auth/login", "", map[string]any{"username": "ghost", "password": "ghost-guess-7"}), 429, "")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditLoginFailed, Username: "ghost", Detail: auth.AuditReasonThrottled}))

	// An administrator's changes name the administrator as the actor.
	admin := func(e auth.AuditEvent) auth.AuditEvent {
		e.ActorID, e.Actor = aliceID, "alice"
		return from(e)
	}
	r := c.do("POST", "/admin/users", alice.access, map[string]any{"username": "carol", "password": "carol-pass-1"})
	expect(t, r, 201, "")
	carolID := r.str(t, "id")
	c.wantAudit(begin, admin(auth.AuditEvent{Event: auth.AuditUserCreated, UserID: carolID, Username: "carol", Detail: "role=user active=true"}))
	r = c.do("PATCH", "/admin/users/"+carolID, alice.access, map[string]any{"role": "admin", "is_active": false, "password": "carol-pass-2"})
	expect(t, r, 200, "")
	c.wantAudit(begin, admin(auth.AuditEvent{Event: auth.AuditUserUpdated, UserID: carolID, Username: "carol", Detail: "role=admin active=false password=changed sessions_ended=0"}))
	expect(t, c.do("POST", "/auth/login", "", map[string]any{"username": "carol", "password": "carol-pass-2"}), 400, "Inactive user")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditLoginFailed, UserID: carolID, Username: "carol", Detail: auth.AuditReasonInactive}))
	expect(t, c.do("DELETE", "/admin/users/"+carolID, alice.access, nil), 204, "")
	c.wantAudit(begin, admin(auth.AuditEvent{Event: auth.AuditUserDeleted, UserID: carolID, Username: "carol", Detail: "role=admin sessions_ended=0"}))

	// Signup, then a password change by the user, who is the actor.
	r = c.do("POST", "/auth/signup", "", map[string]any{"username": "erin", "password": "erin-pass-1"})
	expect(t, r, 201, "")
	erinID := r.str(t, "id")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditSignup, UserID: erinID, Username: "erin"}))
	erin := c.login("erin", "erin-pass-1")
	expect(t, c.do("PUT", "/me/password", erin.access, map[string]any{"current_password": "wrong-guess", "new_password": "erin-pass-2"}), 401, "Current password is incorrect")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditPasswordCheckFailed, UserID: erinID, Username: "erin",
		ActorID: erinID, Actor: "erin", Detail: auth.AuditReasonWrongPassword}))
	expect(t, c.do("PUT", "/me/password", erin.access, map[string]any{"current_password": "erin-pass-1", "new_password": "erin-pass-2"}), 204, "")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditPasswordChanged, UserID: erinID, Username: "erin",
		SessionID: claim(t, erin.access, "sid"), ActorID: erinID, Actor: "erin", Detail: "sessions_ended=0"}))

	// A refresh, then the replay of the used-up token, which ends the session.
	sid := claim(t, alice.access, "sid")
	expect(t, c.do("POST", "/auth/refresh", alice.refresh, nil), 200, "")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditRefreshed, UserID: aliceID, Username: "alice", SessionID: sid, Detail: "rotated"}))
	expect(t, c.do("POST", "/auth/refresh", alice.refresh, nil), 401, "")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditRefreshReused, UserID: aliceID, Username: "alice", SessionID: sid, Detail: "session=revoked"}))
	alice = c.login("alice", "secret123")

	// Logout with a scope; revocation of an access token by its owner and
	// of a refresh token by an administrator; a session ended by one.
	bob := func(e auth.AuditEvent) auth.AuditEvent {
		e.UserID, e.Username = bobID, "bob"
		return from(e)
	}
	c.login("bob", "password456")
	bob2 := c.login("bob", "password456")
	bob2sid := claim(t, bob2.access, "sid")
	expect(t, c.do("POST", "/auth/logout?scope=others", bob2.access, nil), 204, "")
	c.wantAudit(begin, bob(auth.AuditEvent{Event: auth.AuditLogout, SessionID: bob2sid, ActorID: bobID, Actor: "bob", Detail: "scope=others sessions_ended=1"}))
	expect(t, c.do("POST", "/auth/revoke", bob2.access, "token="+url.QueryEscape(bob2.access), "Content-Type", "application/x-www-form-urlencoded"), 200, "")
	c.wantAudit(begin, bob(auth.AuditEvent{Event: auth.AuditRevoked, SessionID: bob2sid, ActorID: bobID, Actor: "bob",
		Detail: "token=access jti=" + claim(t, bob2.access, "jti")}))
	expect(t, c.do("POST", "/auth/revoke", alice.access, map[string]any{"token": bob2.refresh}), 200, "")
	c.wantAudit(begin, bob(auth.AuditEvent{Event: auth.AuditRevoked, SessionID: bob2sid, ActorID: aliceID, Actor: "alice", Detail: "token=refresh sessions_ended=1"}))
	bob3 := c.login("bob", "password456")
	bob3sid := claim(t, bob3.access, "sid")
	expect(t, c.do("DELETE", "/admin/sessions/"+bob3sid, alice.access, nil), 204, "")
	c.wantAudit(begin, bob(auth.AuditEvent{Event: auth.AuditSessionEnded, SessionID: bob3sid, ActorID: aliceID, Actor: "alice", Detail: "sessions_ended=1"}))
	expect(t, c.do("POST", "/auth/logout", bob3.access, nil), 401, "") // its session has ended

	// Key rotation through HTTP.
	r = c.do("POST", "/admin/keys/rotate", alice.access, nil)
	expect(t, r, 200, "")
	signsFrom, err := time.Parse(time.RFC3339, r.str(t, "signs_from"))
	if err != nil {
		t.Fatal(err)
	}
	c.wantAudit(begin, admin(auth.AuditEvent{Event: auth.AuditKeyRotated,
		Detail: fmt.Sprintf("kid=%s alg=ES256 signs_from=%s", r.str(t, "kid"), signsFrom.UTC().Format(time.RFC3339))}))

	expect(t, c.do("POST", "/auth/logout", alice.access, nil), 204, "")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditLogout, UserID: aliceID, Username: "alice",
		SessionID: claim(t, alice.access, "sid"), ActorID: aliceID, Actor: "alice", Detail: "scope=session sessions_ended=1"}))

	// Email: a verification, a reset, an address change, and a message
	// given up.
	r = c.do("POST", "/auth/signup", "", map[string]any{"username": "gwen", "password": "gwen-pass-1", "email": "gwen@example.com"})
	expect(t, r, 201, "")
	gwenID := r.str(t, "id")
	gwen := func(e auth.AuditEvent) auth.AuditEvent {
		e.UserID, e.Username = gwenID, "gwen"
		return from(e)
	}
	_, tok := m.link(m.next())
	c.secrets = append(c.secrets, tok)
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditVerificationSent}))
	expect(t, c.do("POST", "/auth/email/verify", "", map[string]any{"token": tok}), 200, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditEmailVerified}))
	expect(t, c.do("POST", "/auth/password/forgot", "", map[string]any{"email": "gwen@example.com"}), 202, "")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditResetRequested}))
	_, tok = m.link(m.next())
	c.secrets = append(c.secrets, tok)
	c.wantAudit(begin, auth.AuditEvent{Event: auth.AuditResetSent, UserID: gwenID, Username: "gwen", Actor: "outbox"})
	expect(t, c.do("POST", "/auth/password/reset", "", map[string]any{"token": tok, "new_password": "gwen-pass-2"}), 204, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditPasswordReset, Detail: "sessions_ended=0"}))
	m.next() // the notice of the new password
	g := c.login("gwen", "gwen-pass-2")
	expect(t, c.do("PUT", "/me/email", g.access, map[string]any{"email": "gwen@new.example", "current_password": "gwen-pass-2"}), 202, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditEmailChangeAsked, SessionID: claim(t, g.access, "sid"), ActorID: gwenID, Actor: "gwen"}))
	for range 2 {
		if msg := m.next(); msg.to == "gwen@new.example" {
			_, tok = m.link(msg)
		}
	}
	c.secrets = append(c.secrets, tok)
	expect(t, c.do("POST", "/auth/email/verify", "", map[string]any{"token": tok}), 200, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditEmailChanged}))
	smtp.Fail(550, smtptest.PhaseRcpt)
	expect(t, c.do("POST", "/auth/password/forgot", "", map[string]any{"email": "gwen@new.example"}), 202, "")
	eventually(t, 10*time.Second, func() bool {
		return slices.ContainsFunc(c.auditTrail(), func(e auth.AuditEvent) bool { return e.Event == auth.AuditMailFailed })
	})
	c.wantAudit(begin, auth.AuditEvent{Event: auth.AuditMailFailed, UserID: gwenID, Username: "gwen", Actor: "outbox",
		Detail: `kind=reset error=permanent: sending SMTP RCPT TO command: 550 "5.0.0 smtptest refuses RCPT with 550"`})

	// Second factors: enrolment, a wrong code, a recovery code, new codes,
	// turning it off, an administrator's reset.
	g = c.login("gwen", "gwen-pass-2")
	r = c.do("POST", "/me/mfa/totp", g.access, map[string]any{"current_password": "gwen-pass-2"})
	expect(t, r, 200, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditMFAEnrollStarted, SessionID: claim(t, g.access, "sid"), ActorID: gwenID, Actor: "gwen"}))
	secret, err := totp.Decode(r.str(t, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, c.do("POST", "/me/mfa/totp/confirm", g.access, map[string]any{"code": "000000"}), 401, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditMFAFailed, ActorID: gwenID, Actor: "gwen", Detail: "confirm"}))
	step := totp.StepAt(time.Now())
	r = c.do("POST", "/me/mfa/totp/confirm", g.access, map[string]any{"code": totp.Code(secret, step)})
	expect(t, r, 200, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditMFAEnabled, SessionID: claim(t, g.access, "sid"), ActorID: gwenID, Actor: "gwen", Detail: "sessions_ended=1"}))
	rec := r.json(t)["recovery_codes"].([]any)
	for _, code := range rec {
		c.secrets = append(c.secrets, code.(string), strings.ReplaceAll(code.(string), "-", ""))
	}
	c.secrets = append(c.secrets, totp.Encode(secret))
	r = c.do("POST", "/auth/login", "", map[string]any{"username": "gwen", "password": "gwen-pass-2"})
	r = c.do("POST", "/auth/login/mfa", "", map[string]any{"mfa_token": r.str(t, "mfa_token"), "code": rec[0]})
	expect(t, r, 200, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditMFARecoveryUsed}))
	expect(t, c.do("POST", "/me/mfa/recovery-codes", g.access, map[string]any{"code": totp.Code(secret, step+1)}), 200, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditMFARecoveryRenewed, SessionID: claim(t, g.access, "sid"), ActorID: gwenID, Actor: "gwen"}))
	expect(t, c.do("DELETE", "/admin/users/"+gwenID+"/mfa", c.login("alice", "secret123").access, nil), 204, "")
	c.wantAudit(begin, admin(auth.AuditEvent{Event: auth.AuditMFAReset, UserID: gwenID, Username: "gwen", Detail: "sessions_ended=2"}))
	g = c.login("gwen", "gwen-pass-2")
	r = c.do("POST", "/me/mfa/totp", g.access, map[string]any{"current_password": "gwen-pass-2"})
	secret, _ = totp.Decode(r.str(t, "secret"))
	c.secrets = append(c.secrets, r.str(t, "secret"))
	r = c.do("POST", "/me/mfa/totp/confirm", g.access, map[string]any{"code": totp.Code(secret, totp.StepAt(time.Now()))})
	expect(t, r, 200, "")
	rec = r.json(t)["recovery_codes"].([]any)
	expect(t, c.do("POST", "/me/mfa/disable", g.access, map[string]any{"current_password": "gwen-pass-2", "code": rec[0]}), 204, "")
	c.wantAudit(begin, gwen(auth.AuditEvent{Event: auth.AuditMFADisabled, SessionID: claim(t, g.access, "sid"), ActorID: gwenID, Actor: "gwen"}))

	// Identity providers: linking, a refused sign-in, unlinking.
	gw := c.login("gwen", "gwen-pass-2")
	b := newBrowser(t, c.env)
	op.Login(oidctest.User{Subject: "alice-at-acme"})
	fed := func(e auth.AuditEvent) auth.AuditEvent {
		e.IP, e.UserAgent = testIP, "Go-http-client/1.1" // the test's browser
		return e
	}
	if to := b.land(b.follow(b.startLink(gw.access))); to.Query().Get("linked") != "acme" {
		t.Fatalf("linking landed at %s", to)
	}
	c.wantAudit(begin, fed(auth.AuditEvent{Event: auth.AuditIdentityLinked, UserID: gwenID, Username: "gwen", Detail: "provider=acme"}))
	op.Fault(oidctest.Deny)
	if to := b.signIn(pkceQuery(newPKCE(), "")); to.Query().Get("error") != "access_denied" {
		t.Fatalf("a denied sign-in landed at %s", to)
	}
	c.wantAudit(begin, fed(auth.AuditEvent{Event: auth.AuditFederationFailed, Detail: "provider=acme reason=provider_error:access_denied"}))
	ids := c.do("GET", "/me/identities", gw.access, nil).json(t)["identities"].([]any)
	expect(t, c.do("DELETE", "/me/identities/"+ids[0].(map[string]any)["id"].(string), gw.access, nil), 204, "")
	c.wantAudit(begin, from(auth.AuditEvent{Event: auth.AuditIdentityUnlinked, UserID: gwenID, Username: "gwen", SessionID: claim(t, gw.access, "sid"),
		ActorID: gwenID, Actor: "gwen", Detail: "provider=acme"}))

	// Every event above is there, and no password or token is anywhere in
	// the rows.
	seen := map[auth.AuditEventName]bool{}
	for _, e := range c.auditTrail() {
		seen[e.Event] = true
	}
	for _, name := range auth.AuditEventNames {
		if !seen[name] {
			t.Errorf("no %s event recorded", name)
		}
	}
	rows := c.rawAuditRows()
	if len(rows) < 25 {
		t.Fatalf("only %d audit rows", len(rows))
	}
	slices.Sort(c.secrets)
	c.secrets = slices.Compact(c.secrets)
	if len(c.secrets) < 20 {
		t.Fatalf("only %d secrets collected: %v", len(c.secrets), c.secrets)
	}
	for _, row := range rows {
		for _, secret := range c.secrets {
			if secret != "" && strings.Contains(row, secret) {
				t.Errorf("audit row %s contains the secret %q", row, secret)
			}
		}
	}
}

// TestAuditHashingBusy fills every password-hashing slot: the login that
// finds none is refused with 503 and recorded as such.
func TestAuditHashingBusy(t *testing.T) {
	t.Parallel()
	slow := password.Params{Memory: 8 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	busy, err := password.New(slow, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := startWith(t, testConfig(t), Options{Hasher: busy}, slog.New(slog.DiscardHandler), nil)
	begin := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				busy.Hash(context.Background(), "keeps the slot taken")
			}
		}
	})
	got := 0
	for deadline := time.Now().Add(10 * time.Second); got != 503 && time.Now().Before(deadline); {
		got = e.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"}).status
	}
	close(stop)
	wg.Wait()
	if got != 503 {
		t.Fatalf("no login was refused with 503 while the only hashing slot was taken")
	}
	// Refused before the user is looked up, the event names the account
	// as typed, as a throttled login's does; refused by the hasher after
	// the lookup (the slot was taken in between), it has the user's id.
	bob, _ := e.app.Store.UserByName(context.Background(), "bob")
	want := auth.AuditEvent{Event: auth.AuditLoginFailed, Username: "bob", IP: testIP,
		UserAgent: "Go-http-client/1.1", Detail: auth.AuditReasonHashingBusy}
	for _, got := range e.auditTrail() {
		if got.Event == want.Event && got.Detail == want.Detail && got.UserID == bob.ID {
			want.UserID = bob.ID
		}
	}
	e.wantAudit(begin, want)
}

// TestAuditFailureDoesNotFailTheRequest: with the audit table gone, logins
// still work and every lost event is logged.
func TestAuditFailureDoesNotFailTheRequest(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := startWith(t, testConfig(t), Options{}, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	db, err := sql.Open("sqlite", strings.TrimPrefix(e.app.Config.DatabaseURL, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TABLE audit_events`); err != nil {
		t.Fatal(err)
	}
	p := e.login("bob", "password456")
	expect(t, e.refresh(p.refresh), 200, "")
	out := logs.String()
	if n := strings.Count(out, "recording an audit event failed"); n != 2 {
		t.Fatalf("%d failures logged, want 2 (login, refresh):\n%s", n, out)
	}
	for _, want := range []string{"event=login.succeeded", "event=token.refreshed", "no such table"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "password456") || strings.Contains(out, p.refresh) {
		t.Fatalf("the log shows a secret:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestAuditScheduledKeyRotation(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.KeyRotateEvery = time.Millisecond
	e := start(t, cfg)
	begin := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.app.Keys.Run(ctx, 10*time.Millisecond); close(done) }()
	eventually(t, 5*time.Second, func() bool {
		events, err := e.app.Store.AuditEvents(context.Background(), auth.AuditFilter{Event: auth.AuditKeyRotated, Limit: 1})
		return err == nil && len(events) == 1
	})
	cancel()
	<-done
	got := e.auditTrail()
	i := slices.IndexFunc(got, func(x auth.AuditEvent) bool { return x.Event == auth.AuditKeyRotated })
	ev := got[i]
	if ev.Actor != "scheduler" || ev.ActorID != "" || ev.IP != "" || !strings.HasPrefix(ev.Detail, "kid=") || ev.Time.Before(begin.Add(-time.Millisecond)) {
		t.Fatalf("scheduled rotation recorded as %+v", ev)
	}
}

func TestAuditRetention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		retention time.Duration
		want      []string
	}{
		{24 * time.Hour, []string{"fresh"}},
		{0, []string{"fresh", "old"}},
	} {
		cfg := testConfig(t)
		cfg.AuditRetention = tc.retention
		e := start(t, cfg)
		ctx := context.Background()
		now := time.Now()
		for _, ev := range []auth.AuditEvent{
			{Time: now.Add(-48 * time.Hour), Event: auth.AuditLoginFailed, Username: "old"},
			{Time: now.Add(-time.Hour), Event: auth.AuditLoginFailed, Username: "fresh"},
		} {
			if err := e.app.Store.RecordAudit(ctx, &ev); err != nil {
				t.Fatal(err)
			}
		}
		e.app.pruneOnce(ctx, now)
		var left []string
		for _, ev := range e.auditTrail() {
			left = append(left, ev.Username)
		}
		if !slices.Equal(left, tc.want) {
			t.Errorf("retention %s: left %v, want %v", tc.retention, left, tc.want)
		}
	}
}

func TestAuditEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, err := e.app.Store.UserByName(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	bobID := u.ID
	// 60 events recorded earlier, an hour apart going back: every third
	// about bob, the others failed logins of unknown users.
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 60 {
		ev := auth.AuditEvent{Time: now.Add(-time.Duration(i+1) * time.Hour), Event: auth.AuditLoginFailed, Username: fmt.Sprintf("nobody%d", i)}
		if i%3 == 0 {
			ev = auth.AuditEvent{Time: ev.Time, Event: auth.AuditRefreshed, UserID: bobID, Username: "bob", Detail: "rotated"}
		}
		if err := e.app.Store.RecordAudit(ctx, &ev); err != nil {
			t.Fatal(err)
		}
	}
	alice := e.login("alice", "secret123")
	bob := e.login("bob", "password456")
	all := e.auditTrail()
	if len(all) != 62 {
		t.Fatalf("%d events, want 62", len(all))
	}

	r := e.do("GET", "/admin/audit", alice.access, nil)
	expect(t, r, 200, "")
	page := auditPage(t, r)
	if len(page.Events) != 50 || page.NextCursor == nil || page.Events[0].ID != all[0].ID {
		t.Fatalf("default page: %d events, next %v", len(page.Events), page.NextCursor)
	}
	first := page.Events[0]
	if first.Event != "login.succeeded" || first.Username != "bob" || first.UserID != bobID || first.IP != testIP ||
		first.SessionID != claim(t, bob.access, "sid") || first.Time.IsZero() {
		t.Fatalf("newest event %+v", first)
	}

	// Paging with a small limit goes through everything once, newest first.
	wantIDs := func(events []auth.AuditEvent) []int64 {
		var ids []int64
		for _, ev := range events {
			ids = append(ids, ev.ID)
		}
		return ids
	}
	if got := pageThrough(t, e, alice.access, "limit=7"); !slices.Equal(got, wantIDs(all)) {
		t.Fatalf("paging went through %v, want %v", got, wantIDs(all))
	}

	// Filters, alone and with paging.
	about := func(keep func(auth.AuditEvent) bool) []int64 {
		var out []auth.AuditEvent
		for _, ev := range all {
			if keep(ev) {
				out = append(out, ev)
			}
		}
		return wantIDs(out)
	}
	since, until := now.Add(-30*time.Hour), now.Add(-10*time.Hour)
	for query, want := range map[string][]int64{
		"user=BOB&limit=4":                       about(func(ev auth.AuditEvent) bool { return ev.UserID == bobID }),
		"user=" + bobID:                          about(func(ev auth.AuditEvent) bool { return ev.UserID == bobID }),
		"user=nobody7":                           about(func(ev auth.AuditEvent) bool { return ev.Username == "nobody7" }),
		"event=login.failed":                     about(func(ev auth.AuditEvent) bool { return ev.Event == auth.AuditLoginFailed }),
		"event=token.refreshed&user=bob&limit=5": about(func(ev auth.AuditEvent) bool { return ev.Event == auth.AuditRefreshed }),
		"since=" + since.Format(time.RFC3339):    about(func(ev auth.AuditEvent) bool { return !ev.Time.Before(since) }),
		"until=" + until.Format(time.RFC3339):    about(func(ev auth.AuditEvent) bool { return ev.Time.Before(until) }),
		"since=" + since.Format(time.RFC3339) + "&until=" + until.Format(time.RFC3339) + "&limit=3": about(func(ev auth.AuditEvent) bool {
			return !ev.Time.Before(since) && ev.Time.Before(until)
		}),
		"event=user.deleted": nil,
	} {
		got := pageThrough(t, e, alice.access, query)
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s: got %v, want %v", query, got, want)
		}
	}

	// Administrators only.
	expect(t, e.do("GET", "/admin/audit", bob.access, nil), 403, "Admin access required")
	expect401(t, e.invalid("no credentials").do("GET", "/admin/audit", "", nil), "Not authenticated")

	// Bad parameters are 422 with the usual body. Those the document
	// rules out (a limit out of range, a time that is not RFC 3339) are
	// marked as such; an opaque cursor or an event name it leaves to the
	// server.
	outOfDocument := []string{"limit=0", "limit=501", "limit=ten", "since=yesterday", "until=2026-13-01T00:00:00Z", "since=2026-01-02"}
	for _, query := range append(outOfDocument,
		"cursor=!!!", "cursor="+url.QueryEscape("LTU"), "cursor=abc", "event=login",
		"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
	) {
		c := e
		if slices.Contains(outOfDocument, query) {
			c = e.invalid("bad " + query)
		}
		r := c.do("GET", "/admin/audit?"+query, alice.access, nil)
		if r.status != 422 || r.str(t, "code") != "invalid" || r.str(t, "detail") == "" {
			t.Errorf("%s: body %s", query, r.body)
		}
	}
	if r := e.do("GET", "/admin/audit?limit=500", alice.access, nil); r.status != 200 || len(auditPage(t, r).Events) != 62 {
		t.Fatalf("limit=500: %d %s", r.status, r.body)
	}
}

type auditPageJSON struct {
	Events []struct {
		ID        int64     `json:"id"`
		Time      time.Time `json:"time"`
		Event     string    `json:"event"`
		UserID    string    `json:"user_id"`
		Username  string    `json:"username"`
		SessionID string    `json:"session_id"`
		IP        string    `json:"ip"`
	} `json:"events"`
	NextCursor *string `json:"next_cursor"`
}

func auditPage(t *testing.T, r resp) auditPageJSON {
	t.Helper()
	var p auditPageJSON
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("audit page %s: %v", r.body, err)
	}
	return p
}

// pageThrough follows next_cursor from the first page of query to the
// last and returns the ids it saw.
func pageThrough(t *testing.T, e *env, bearer, query string) []int64 {
	t.Helper()
	var ids []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("%s: more than 100 pages", query)
		}
		q := query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.do("GET", "/admin/audit?"+q, bearer, nil)
		expect(t, r, 200, "")
		p := auditPage(t, r)
		for _, ev := range p.Events {
			ids = append(ids, ev.ID)
		}
		if p.NextCursor == nil {
			return ids
		}
		if len(p.Events) == 0 {
			t.Fatalf("%s: an empty page with a next cursor", query)
		}
		cursor = *p.NextCursor
	}
}
