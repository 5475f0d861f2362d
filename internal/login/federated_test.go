package login

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var carol = auth.User{ID: "u-carol", Username: "carol", Role: auth.RoleUser, Active: true} // made by a provider: no password

// A password login of an account without a password is a wrong
// password, after a wrong password's hashing work.
func TestPasswordOfPasswordlessAccount(t *testing.T) {
	h := newHarness(t)
	h.users = newFakeUsers(alice, bob, carol)
	h.svc.users = h.users
	for _, pw := range []string{"", "anything", "hash:"} {
		_, err := h.svc.Password(ctx, "carol", pw, origin)
		wantErr(t, err, ErrBadLogin)
	}
	if h.pw.unknown != 3 || h.pw.verifies != 0 {
		t.Fatalf("VerifyUnknownUser=%d Verify=%d, want 3 and 0 (a wrong password's work, never a hash of \"\")", h.pw.unknown, h.pw.verifies)
	}
	for _, e := range h.audit.All() {
		if e.Event != auth.AuditLoginFailed || e.Detail != auth.AuditReasonWrongPassword || e.UserID != carol.ID {
			t.Fatalf("audit = %+v", e)
		}
	}
}

func TestFederatedStartsSession(t *testing.T) {
	h := newHarness(t)
	out, err := h.svc.Federated(ctx, carol, "acme", origin)
	if err != nil || out.Session == nil || out.Pending != nil {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
	calls := h.sess.calls()
	if len(calls) != 1 || !slices.Equal(calls[0].auth.AMR, []string{auth.AMRFederated}) || !calls[0].auth.Time.Equal(h.clock.Now()) {
		t.Fatalf("Start calls %+v", calls)
	}
	evs := calls[0].fx.Audit
	if len(evs) != 1 || evs[0].Event != auth.AuditLoginSucceeded || evs[0].Detail != "provider=acme" || evs[0].UserID != carol.ID {
		t.Fatalf("login.succeeded = %+v", evs)
	}
}

// A second factor still follows a provider; its amr ends fed, otp, mfa.
func TestFederatedWithSecondFactor(t *testing.T) {
	h := newHarness(t, totpFactor())
	out, err := h.svc.Federated(ctx, alice, "acme", origin)
	if err != nil || out.Pending == nil || out.Session != nil {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
	if len(h.sess.calls()) != 0 {
		t.Fatal("a session before the second factor")
	}
	out, err = h.svc.SecondFactor(ctx, out.Pending.Token, "123456", origin)
	if err != nil || out.Session == nil {
		t.Fatalf("second factor: %+v %v", out, err)
	}
	if amr := h.sess.calls()[0].auth.AMR; !slices.Equal(amr, []string{"fed", "otp", "mfa"}) {
		t.Fatalf("amr = %q", amr)
	}
}

func TestFederatedInactive(t *testing.T) {
	h := newHarness(t)
	_, err := h.svc.Federated(ctx, bob, "acme", origin)
	wantErr(t, err, ErrInactive)
	if e := onlyAudit(t, h); e.Event != auth.AuditLoginFailed || e.Detail != "inactive provider=acme" {
		t.Fatalf("audit = %+v", e)
	}
}
