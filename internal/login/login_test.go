package login

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/token"
)

var ctx = context.Background()

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func wantThrottle(t *testing.T, h *harness, want ...throttleCall) {
	t.Helper()
	if got := h.throttle.ops(); !slices.Equal(got, want) {
		t.Fatalf("throttle calls = %+v, want %+v", got, want)
	}
}

// onlyAudit returns the one event the audit store holds.
func onlyAudit(t *testing.T, h *harness) auth.AuditEvent {
	t.Helper()
	ev := h.audit.All()
	if len(ev) != 1 {
		t.Fatalf("audit events = %+v, want exactly one", ev)
	}
	return ev[0]
}

func TestPasswordStartsSession(t *testing.T) {
	h := newHarness(t)
	out, err := h.svc.Password(ctx, "ALICE", "secret123", origin)
	if err != nil {
		t.Fatal(err)
	}
	if out.Session == nil || out.Pending != nil {
		t.Fatalf("outcome = %+v, want a session and no pending attempt", out)
	}
	if out.Session.SessionID != "sid-u-alice" || out.User.ID != alice.ID {
		t.Fatalf("outcome = %+v", out)
	}
	starts := h.sess.calls()
	if len(starts) != 1 {
		t.Fatalf("Start called %d times, want 1", len(starts))
	}
	st := starts[0]
	if st.user.ID != alice.ID || st.o != origin {
		t.Fatalf("Start got user %+v origin %+v", st.user, st.o)
	}
	if !slices.Equal(st.auth.AMR, []string{"pwd"}) {
		t.Fatalf("AMR = %q, want [pwd]", st.auth.AMR)
	}
	if !st.auth.Time.Equal(h.clock.Now()) {
		t.Fatalf("auth time = %v, want %v", st.auth.Time, h.clock.Now())
	}
	if len(st.fx.Audit) != 1 {
		t.Fatalf("effects audit = %+v, want one event", st.fx.Audit)
	}
	e := st.fx.Audit[0]
	if e.Event != auth.AuditLoginSucceeded || e.UserID != alice.ID || e.Username != "Alice" || e.IP != origin.IP || e.UserAgent != origin.UserAgent {
		t.Fatalf("login event = %+v", e)
	}
	if st.fx.AuditFailed == nil {
		t.Fatal("effects carry no AuditFailed callback")
	}
	// A success is recorded with the session only, never directly.
	if ev := h.audit.All(); len(ev) != 0 {
		t.Fatalf("recorded directly: %+v", ev)
	}
	wantThrottle(t, h, throttleCall{"wait", "alice", origin.IP}, throttleCall{"succeeded", "alice", origin.IP})
	if h.pw.verifies != 1 || h.pw.unknown != 0 || h.pw.admits != 1 {
		t.Fatalf("passwords: admits=%d verifies=%d unknown=%d", h.pw.admits, h.pw.verifies, h.pw.unknown)
	}
	if h.users.setCalls != 0 {
		t.Fatal("hash upgraded without a rehash verdict")
	}
}

func TestPasswordRehashUpgradesHash(t *testing.T) {
	h := newHarness(t)
	h.pw.rehash = true
	if _, err := h.svc.Password(ctx, "alice", "secret123", origin); err != nil {
		t.Fatal(err)
	}
	if h.users.setCalls != 1 || h.users.setHash[alice.ID] != "hash:secret123" {
		t.Fatalf("SetPasswordHash calls=%d hashes=%v", h.users.setCalls, h.users.setHash)
	}
}

func TestPasswordUnknownUser(t *testing.T) {
	h := newHarness(t)
	out, err := h.svc.Password(ctx, "nobody", "whatever1", origin)
	wantErr(t, err, ErrBadLogin)
	if out.Session != nil || out.Pending != nil {
		t.Fatalf("outcome = %+v", out)
	}
	if h.pw.unknown != 1 || h.pw.verifies != 0 {
		t.Fatalf("VerifyUnknownUser=%d Verify=%d, want 1 and 0 (same hashing work)", h.pw.unknown, h.pw.verifies)
	}
	wantThrottle(t, h, throttleCall{"wait", "nobody", origin.IP}, throttleCall{"failed", "nobody", origin.IP})
	e := onlyAudit(t, h)
	if e.Event != auth.AuditLoginFailed || e.Detail != auth.AuditReasonUnknownUser || e.Username != "nobody" || e.UserID != "" || e.IP != origin.IP {
		t.Fatalf("audit = %+v", e)
	}
	if len(h.sess.calls()) != 0 {
		t.Fatal("session started")
	}
}

func TestPasswordWrong(t *testing.T) {
	h := newHarness(t)
	_, err := h.svc.Password(ctx, "alice", "wrong-password", origin)
	wantErr(t, err, ErrBadLogin)
	if h.pw.verifies != 1 || h.pw.unknown != 0 {
		t.Fatalf("Verify=%d VerifyUnknownUser=%d", h.pw.verifies, h.pw.unknown)
	}
	wantThrottle(t, h, throttleCall{"wait", "alice", origin.IP}, throttleCall{"failed", "alice", origin.IP})
	e := onlyAudit(t, h)
	if e.Event != auth.AuditLoginFailed || e.Detail != auth.AuditReasonWrongPassword || e.UserID != alice.ID || e.Username != "Alice" {
		t.Fatalf("audit = %+v", e)
	}
	if len(h.sess.calls()) != 0 {
		t.Fatal("session started")
	}
}

func TestPasswordInactive(t *testing.T) {
	h := newHarness(t)
	_, err := h.svc.Password(ctx, "bob", "password456", origin)
	wantErr(t, err, ErrInactive)
	if auth.ErrorCode(err) != auth.EInactive {
		t.Fatalf("code = %s", auth.ErrorCode(err))
	}
	// Neither a failure nor a success of the password is counted.
	wantThrottle(t, h, throttleCall{"wait", "bob", origin.IP})
	e := onlyAudit(t, h)
	if e.Detail != auth.AuditReasonInactive || e.UserID != bob.ID {
		t.Fatalf("audit = %+v", e)
	}
	if len(h.sess.calls()) != 0 {
		t.Fatal("session started")
	}

	// A wrong password of a disabled user gets the usual answer.
	_, err = h.svc.Password(ctx, "bob", "nope-nope", origin)
	wantErr(t, err, ErrBadLogin)
}

func TestPasswordThrottled(t *testing.T) {
	h := newHarness(t)
	h.throttle.wait = 30 * time.Second
	_, err := h.svc.Password(ctx, "alice", "secret123", origin)
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != auth.ETooMany || ae.RetryAfter != 30*time.Second {
		t.Fatalf("err = %#v, want ETooMany with RetryAfter 30s", err)
	}
	if h.pw.verifies != 0 || h.pw.unknown != 0 || h.users.lookups() != 0 {
		t.Fatalf("password checked while throttled: verifies=%d unknown=%d lookups=%d", h.pw.verifies, h.pw.unknown, h.users.lookups())
	}
	wantThrottle(t, h, throttleCall{"wait", "alice", origin.IP})
	e := onlyAudit(t, h)
	if e.Event != auth.AuditLoginFailed || e.Detail != auth.AuditReasonThrottled {
		t.Fatalf("audit = %+v", e)
	}
	if len(h.sess.calls()) != 0 {
		t.Fatal("session started")
	}
}

func TestPasswordOverlongUsername(t *testing.T) {
	for name, username := range map[string]string{
		"65 ascii":       strings.Repeat("a", auth.MaxUsernameLen+1),
		"65 two-byte":    strings.Repeat("é", auth.MaxUsernameLen+1),
		"65 four-byte":   strings.Repeat("😀", auth.MaxUsernameLen+1), // 260 bytes
		"257 bytes":      strings.Repeat("a", 4*auth.MaxUsernameLen+1),
		"one megabyte":   strings.Repeat("x", 1<<20),
		"invalid utf8 x": strings.Repeat("\xff", 300),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			_, err := h.svc.Password(ctx, username, "secret123", origin)
			wantErr(t, err, ErrBadLogin)
			if w := h.pw.work(); w != 0 {
				t.Fatalf("hashing asked for %d times, want 0", w)
			}
			if n := h.users.lookups(); n != 0 {
				t.Fatalf("store looked up %d times, want 0", n)
			}
			wantThrottle(t, h)
			e := onlyAudit(t, h)
			if e.Detail != auth.AuditReasonMalformed || len(e.Username) > 4*auth.MaxUsernameLen {
				t.Fatalf("audit = detail %q, username of %d bytes", e.Detail, len(e.Username))
			}
		})
	}
}

func TestPasswordLongestUsernameIsLookedUp(t *testing.T) {
	// 64 characters of 4 bytes: 256 bytes, a name an account may have.
	name := strings.Repeat("😀", auth.MaxUsernameLen)
	if len(name) != 4*auth.MaxUsernameLen || utf8.RuneCountInString(name) != auth.MaxUsernameLen {
		t.Fatal("bad test name")
	}
	h := newHarness(t)
	_, err := h.svc.Password(ctx, name, "secret123", origin)
	wantErr(t, err, ErrBadLogin)
	if h.pw.admits != 1 || h.pw.unknown != 1 || h.users.byName != 1 {
		t.Fatalf("admits=%d unknown=%d lookups=%d, want 1 each", h.pw.admits, h.pw.unknown, h.users.byName)
	}
}

func TestPasswordHashingBusy(t *testing.T) {
	h := newHarness(t)
	h.pw.admitErr = password.ErrBusy
	_, err := h.svc.Password(ctx, "alice", "secret123", origin)
	wantErr(t, err, password.ErrBusy)
	if h.pw.verifies != 0 || h.pw.unknown != 0 || h.users.lookups() != 0 {
		t.Fatal("work done after AdmitFor refused")
	}
	wantThrottle(t, h)
	e := onlyAudit(t, h)
	if e.Event != auth.AuditLoginFailed || e.Detail != auth.AuditReasonHashingBusy || e.Username != "alice" {
		t.Fatalf("audit = %+v", e)
	}
}

// countingRates is a sign-in rate that counts what it is asked and allows
// everything.
type countingRates struct{ takes int }

func (c *countingRates) Take(context.Context, ...ratelimit.Key) (time.Duration, error) {
	c.takes++
	return 0, nil
}

// TestHashingBusyRefusedBeforeTheSignInRate: a login refused for want of a
// hashing slot is answered without a call to the sign-in rate (a round
// trip to Redis in a deployment) and is not counted against its address;
// an admitted one is counted once.
func TestHashingBusyRefusedBeforeTheSignInRate(t *testing.T) {
	h := newHarness(t)
	rates := &countingRates{}
	h.svc.rates, h.svc.signIns = rates, ratelimit.PerMinute("signin", 10)
	h.pw.admitErr = password.ErrBusy
	_, err := h.svc.Password(ctx, "alice", "secret123", origin)
	wantErr(t, err, password.ErrBusy)
	if rates.takes != 0 {
		t.Fatalf("sign-in rate taken %d times for a refused login, want 0", rates.takes)
	}
	h.pw.admitErr = nil
	if _, err := h.svc.Password(ctx, "alice", "secret123", origin); err != nil {
		t.Fatal(err)
	}
	if rates.takes != 1 {
		t.Fatalf("sign-in rate taken %d times for an admitted login, want 1", rates.takes)
	}
}

// pend logs alice in with her password and returns the pending attempt.
func pend(t *testing.T, h *harness) *Pending {
	t.Helper()
	out, err := h.svc.Password(ctx, "alice", "secret123", origin)
	if err != nil {
		t.Fatal(err)
	}
	if out.Pending == nil || out.Session != nil {
		t.Fatalf("outcome = %+v, want a pending attempt only", out)
	}
	return out.Pending
}

func TestPasswordWithSecondFactorPends(t *testing.T) {
	h := newHarness(t, totpFactor(), recoveryFactor())
	p := pend(t, h)
	if len(p.Token) < 43 {
		t.Fatalf("attempt token %q is %d chars, want >= 43", p.Token, len(p.Token))
	}
	if !slices.Equal(p.Methods, []string{"totp", "recovery_code"}) {
		t.Fatalf("methods = %q", p.Methods)
	}
	if p.ExpiresIn != 5*time.Minute {
		t.Fatalf("ExpiresIn = %v", p.ExpiresIn)
	}
	if n := len(h.sess.calls()); n != 0 {
		t.Fatalf("Start called %d times before the second factor", n)
	}
	// The password step succeeded: its counter is reset.
	wantThrottle(t, h, throttleCall{"wait", "alice", origin.IP}, throttleCall{"succeeded", "alice", origin.IP})

	issued, _, _ := h.attempts.snapshot()
	if len(issued) != 1 {
		t.Fatalf("issued %d secrets", len(issued))
	}
	s := issued[0]
	now := h.clock.Now()
	if s.Hash != token.HashSecret(p.Token) || s.Purpose != auth.PurposeLoginAttempt || s.OwnerID != alice.ID ||
		s.AttemptsLeft != 5 || !s.ExpiresAt.Equal(now.Add(5*time.Minute)) || !s.CreatedAt.Equal(now) || !s.UsedAt.IsZero() {
		t.Fatalf("issued secret = %+v", s)
	}
	for field, v := range map[string]string{"Hash": s.Hash, "Data": s.Data, "OwnerID": s.OwnerID} {
		if strings.Contains(v, p.Token) {
			t.Fatalf("the attempt token is stored in %s: %q", field, v)
		}
	}
	// Two attempts get distinct tokens.
	if p2 := pend(t, h); p2.Token == p.Token {
		t.Fatal("two attempts share a token")
	}
}

func TestPasswordFactorNotEnrolledStartsSession(t *testing.T) {
	f := totpFactor()
	f.enrolled = false
	h := newHarness(t, f)
	out, err := h.svc.Password(ctx, "alice", "secret123", origin)
	if err != nil || out.Session == nil || out.Pending != nil {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
	if issued, _, _ := h.attempts.snapshot(); len(issued) != 0 {
		t.Fatal("attempt issued for a user without a second factor")
	}
}

func TestSecondFactorWrongPasswordGivesNoHint(t *testing.T) {
	h := newHarness(t, totpFactor())
	out, err := h.svc.Password(ctx, "alice", "wrong-one", origin)
	wantErr(t, err, ErrBadLogin)
	if out.Pending != nil {
		t.Fatal("pending attempt for a wrong password")
	}
}

func TestSecondFactorTOTP(t *testing.T) {
	h := newHarness(t, totpFactor(), recoveryFactor())
	authTime := h.clock.Now()
	p := pend(t, h)
	h.clock.Advance(time.Minute)
	out, err := h.svc.SecondFactor(ctx, p.Token, "123456", origin)
	if err != nil {
		t.Fatal(err)
	}
	if out.Session == nil || out.Pending != nil || out.User.ID != alice.ID {
		t.Fatalf("outcome = %+v", out)
	}
	starts := h.sess.calls()
	if len(starts) != 1 {
		t.Fatalf("Start called %d times", len(starts))
	}
	if !slices.Equal(starts[0].auth.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("AMR = %q, want [pwd otp mfa]", starts[0].auth.AMR)
	}
	if !starts[0].auth.Time.Equal(authTime) {
		t.Fatalf("auth time = %v, want the password step's %v", starts[0].auth.Time, authTime)
	}
	fx := starts[0].fx
	if len(fx.Audit) != 1 || fx.Audit[0].Event != auth.AuditLoginSucceeded || fx.Audit[0].UserID != alice.ID {
		t.Fatalf("effects = %+v", fx.Audit)
	}

	// Replaying the attempt after success is refused.
	_, err = h.svc.SecondFactor(ctx, p.Token, "123456", origin)
	wantErr(t, err, ErrBadAttempt)
	if n := len(h.sess.calls()); n != 1 {
		t.Fatalf("replay started a session: %d starts", n)
	}
}

func TestSecondFactorRecoveryCode(t *testing.T) {
	h := newHarness(t, totpFactor(), recoveryFactor())
	p := pend(t, h)
	if _, err := h.svc.SecondFactor(ctx, p.Token, "rec-abcd-efgh", origin); err != nil {
		t.Fatal(err)
	}
	starts := h.sess.calls()
	if len(starts) != 1 || !slices.Equal(starts[0].auth.AMR, []string{"pwd", "mfa", "rec"}) {
		t.Fatalf("starts = %+v, want one with AMR [pwd mfa rec]", starts)
	}
}

func TestSecondFactorAddsMFAWhenFactorOmitsIt(t *testing.T) {
	f := totpFactor()
	f.amr = []string{auth.AMROTP}
	h := newHarness(t, f)
	p := pend(t, h)
	if _, err := h.svc.SecondFactor(ctx, p.Token, "123456", origin); err != nil {
		t.Fatal(err)
	}
	if got := h.sess.calls()[0].auth.AMR; !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("AMR = %q", got)
	}
}

func TestSecondFactorWrongCode(t *testing.T) {
	h := newHarness(t, totpFactor())
	p := pend(t, h)
	_, err := h.svc.SecondFactor(ctx, p.Token, "000000", origin)
	wantErr(t, err, ErrBadCode)
	if _, consumed, failed := h.attempts.snapshot(); failed != 1 || consumed != 0 {
		t.Fatalf("failed=%d consumed=%d, want 1 and 0", failed, consumed)
	}
	if len(h.sess.calls()) != 0 {
		t.Fatal("session started on a wrong code")
	}
	// One wrong code leaves the attempt usable.
	if _, err := h.svc.SecondFactor(ctx, p.Token, "123456", origin); err != nil {
		t.Fatalf("right code after one wrong: %v", err)
	}
}

func TestSecondFactorDiesAfterFiveWrongCodes(t *testing.T) {
	h := newHarness(t, totpFactor())
	p := pend(t, h)
	for i := range 5 {
		_, err := h.svc.SecondFactor(ctx, p.Token, "999999", origin)
		if !errors.Is(err, ErrBadCode) {
			t.Fatalf("wrong code %d: err = %v, want ErrBadCode", i+1, err)
		}
	}
	_, err := h.svc.SecondFactor(ctx, p.Token, "123456", origin)
	wantErr(t, err, ErrBadAttempt)
	if len(h.sess.calls()) != 0 {
		t.Fatal("session started on a dead attempt")
	}
	if _, _, failed := h.attempts.snapshot(); failed != 5 {
		t.Fatalf("failed = %d, want 5", failed)
	}
}

func TestSecondFactorExpired(t *testing.T) {
	h := newHarness(t, totpFactor())
	p := pend(t, h)
	h.clock.Advance(5*time.Minute - time.Second)
	p2 := pend(t, h) // issued later, still young
	h.clock.Advance(time.Second)
	_, err := h.svc.SecondFactor(ctx, p.Token, "123456", origin)
	wantErr(t, err, ErrBadAttempt)
	if len(h.sess.calls()) != 0 {
		t.Fatal("expired attempt started a session")
	}
	if _, err := h.svc.SecondFactor(ctx, p2.Token, "123456", origin); err != nil {
		t.Fatalf("attempt of 1s age: %v", err)
	}
}

func TestSecondFactorUnknownToken(t *testing.T) {
	f := totpFactor()
	h := newHarness(t, f)
	pend(t, h)
	for _, tok := range []string{"", newAttemptToken(), strings.Repeat("A", 129), "not-a-token"} {
		_, err := h.svc.SecondFactor(ctx, tok, "123456", origin)
		if !errors.Is(err, ErrBadAttempt) {
			t.Fatalf("token %.20q: err = %v, want ErrBadAttempt", tok, err)
		}
	}
	if f.checks != 0 || len(h.sess.calls()) != 0 {
		t.Fatalf("code checked %d times / sessions %d for unknown tokens", f.checks, len(h.sess.calls()))
	}
}

func TestSecondFactorUserDisabledMeanwhile(t *testing.T) {
	h := newHarness(t, totpFactor())
	p := pend(t, h)
	u := alice
	u.Active = false
	h.users.mu.Lock()
	h.users.byKey["alice"] = u
	h.users.mu.Unlock()
	_, err := h.svc.SecondFactor(ctx, p.Token, "123456", origin)
	wantErr(t, err, ErrInactive)
	if len(h.sess.calls()) != 0 {
		t.Fatal("session started for a disabled user")
	}
}

func TestSecondFactorConcurrentRightCodes(t *testing.T) {
	const n = 8
	h := newHarness(t, totpFactor())
	p := pend(t, h)
	// Every request has looked the attempt up and checked the code before
	// any consumes it: the store alone must decide.
	var arrived sync.WaitGroup
	arrived.Add(n)
	h.attempts.beforeConsume = func() { arrived.Done(); arrived.Wait() }

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = h.svc.SecondFactor(ctx, p.Token, "123456", origin)
		}()
	}
	wg.Wait()
	ok, bad := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrBadAttempt):
			bad++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 || bad != n-1 {
		t.Fatalf("%d succeeded, %d got ErrBadAttempt; want 1 and %d", ok, bad, n-1)
	}
	if got := len(h.sess.calls()); got != 1 {
		t.Fatalf("%d sessions started, want exactly 1", got)
	}
}
