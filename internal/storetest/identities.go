package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func wantReason(t *testing.T, err error, want *auth.Error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func testIdentityLifecycle(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := auth.User{Username: "fed-ana", Role: auth.RoleUser, Active: true, Email: "ana@example.com", EmailVerified: true}
	id := auth.Identity{Provider: "acme", Subject: "sub-1", Email: "ana@example.com"}
	fx := auth.Effects{Audit: []auth.AuditEvent{{Event: auth.AuditIdentityLinked, Detail: "acme"}}}
	must(t, s.CreateUserWithIdentity(ctx, &u, &id, fx), "CreateUserWithIdentity")
	if u.ID == "" || id.ID == "" || id.UserID != u.ID || id.CreatedAt.IsZero() {
		t.Fatalf("created %+v with %+v", u, id)
	}
	got, err := s.UserByID(ctx, u.ID)
	must(t, err, "UserByID")
	if got.PasswordHash != "" || !got.EmailVerified {
		t.Fatalf("federated user: %+v", got)
	}
	found, err := s.IdentityBySubject(ctx, "acme", "sub-1")
	must(t, err, "IdentityBySubject")
	if found.ID != id.ID || found.UserID != u.ID || found.Email != "ana@example.com" {
		t.Fatalf("found %+v, want %+v", found, id)
	}
	// The key is (provider, subject): the same subject at another
	// provider, or another subject, is another identity.
	_, err = s.IdentityBySubject(ctx, "other", "sub-1")
	wantCode(t, err, auth.ENotFound, "IdentityBySubject at another provider")
	_, err = s.IdentityBySubject(ctx, "acme", "SUB-1")
	wantCode(t, err, auth.ENotFound, "IdentityBySubject is exact")

	// A second identity; the same (provider, subject) again is taken,
	// for this user and for another.
	second := auth.Identity{UserID: u.ID, Provider: "other", Subject: "sub-1"}
	must(t, s.LinkIdentity(ctx, &second, auth.Effects{}), "LinkIdentity")
	again := auth.Identity{UserID: u.ID, Provider: "other", Subject: "sub-1"}
	wantReason(t, s.LinkIdentity(ctx, &again, auth.Effects{}), auth.ErrIdentityTaken, "LinkIdentity twice")
	bob := addUser(t, s, "fed-bob")
	steal := auth.Identity{UserID: bob.ID, Provider: "acme", Subject: "sub-1"}
	wantReason(t, s.LinkIdentity(ctx, &steal, auth.Effects{}), auth.ErrIdentityTaken, "LinkIdentity of another's")
	dup := auth.User{Username: "fed-carl", Role: auth.RoleUser, Active: true}
	dupID := auth.Identity{Provider: "acme", Subject: "sub-1"}
	wantReason(t, s.CreateUserWithIdentity(ctx, &dup, &dupID, auth.Effects{}), auth.ErrIdentityTaken, "CreateUserWithIdentity of a taken identity")
	if _, err := s.UserByName(ctx, "fed-carl"); auth.ErrorCode(err) != auth.ENotFound {
		t.Fatalf("the user of a refused identity was kept: %v", err)
	}
	ghost := auth.Identity{UserID: "no-such-user", Provider: "acme", Subject: "sub-9"}
	wantCode(t, s.LinkIdentity(ctx, &ghost, auth.Effects{}), auth.ENotFound, "LinkIdentity to an unknown user")

	list, err := s.ListIdentities(ctx, u.ID)
	must(t, err, "ListIdentities")
	if len(list) != 2 || list[0].ID != id.ID || list[1].ID != second.ID {
		t.Fatalf("ListIdentities = %+v", list)
	}

	// Unlinking: another user's identity is not found; the last one of a
	// user without a password stays.
	_, err = s.UnlinkIdentity(ctx, bob.ID, id.ID, auth.Effects{})
	wantCode(t, err, auth.ENotFound, "UnlinkIdentity of another user's")
	gone, err := s.UnlinkIdentity(ctx, u.ID, second.ID, auth.Effects{Audit: []auth.AuditEvent{{Event: auth.AuditIdentityUnlinked, Detail: "other"}}})
	must(t, err, "UnlinkIdentity")
	if gone.ID != second.ID || gone.Provider != "other" {
		t.Fatalf("UnlinkIdentity returned %+v", gone)
	}
	_, err = s.UnlinkIdentity(ctx, u.ID, id.ID, auth.Effects{})
	wantReason(t, err, auth.ErrLastLoginMethod, "UnlinkIdentity of the last method")
	_, err = s.UnlinkIdentity(ctx, u.ID, second.ID, auth.Effects{})
	wantCode(t, err, auth.ENotFound, "UnlinkIdentity twice")

	// With a password, the last identity may go.
	h := "$argon2id$v=19$x"
	_, _, err = s.UpdateUser(ctx, u.ID, auth.UserUpdate{PasswordHash: &h}, auth.EndSessions{}, time.Now().Add(time.Hour), auth.Effects{})
	must(t, err, "UpdateUser")
	_, err = s.UnlinkIdentity(ctx, u.ID, id.ID, auth.Effects{})
	must(t, err, "UnlinkIdentity with a password")
	_, err = s.IdentityBySubject(ctx, "acme", "sub-1")
	wantCode(t, err, auth.ENotFound, "IdentityBySubject after unlink")

	events, err := s.AuditEvents(ctx, auth.AuditFilter{User: u.ID, Limit: 10})
	must(t, err, "AuditEvents")
	var names []auth.AuditEventName
	for _, e := range events {
		if e.Username != "fed-ana" {
			t.Errorf("event %s not stamped with the user: %+v", e.Event, e)
		}
		names = append(names, e.Event)
	}
	if len(names) != 2 || names[0] != auth.AuditIdentityUnlinked || names[1] != auth.AuditIdentityLinked {
		t.Fatalf("audit events %v", names)
	}

	// Deleting the user deletes its identities.
	id3 := auth.Identity{UserID: bob.ID, Provider: "acme", Subject: "sub-3"}
	must(t, s.LinkIdentity(ctx, &id3, auth.Effects{}), "LinkIdentity bob")
	_, err = s.DeleteUser(ctx, bob.ID, time.Now().Add(time.Hour), false, auth.Effects{})
	must(t, err, "DeleteUser")
	_, err = s.IdentityBySubject(ctx, "acme", "sub-3")
	wantCode(t, err, auth.ENotFound, "identity of a deleted user")
}

// Two unlinks of a passwordless user's two identities at once: one wins,
// the other is refused, and one identity is left.
func testUnlinkConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := auth.User{Username: "fed-race", Role: auth.RoleUser, Active: true}
	a := auth.Identity{Provider: "a", Subject: "1"}
	must(t, s.CreateUserWithIdentity(ctx, &u, &a, auth.Effects{}), "CreateUserWithIdentity")
	b := auth.Identity{UserID: u.ID, Provider: "b", Subject: "1"}
	must(t, s.LinkIdentity(ctx, &b, auth.Effects{}), "LinkIdentity")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{a.ID, b.ID} {
		wg.Go(func() { _, errs[i] = s.UnlinkIdentity(ctx, u.ID, id, auth.Effects{}) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, auth.ErrLastLoginMethod):
		default:
			t.Fatalf("UnlinkIdentity: %v", err)
		}
	}
	list, err := s.ListIdentities(ctx, u.ID)
	must(t, err, "ListIdentities")
	if ok != 1 || len(list) != 1 {
		t.Fatalf("%d unlinks won, %d identities left; want 1 and 1", ok, len(list))
	}
}

func testOAuthState(t *testing.T, s auth.Store) {
	ctx := t.Context()
	now := present()
	st := auth.OAuthState{
		Hash: token(), BindingHash: token(), Provider: "acme", RedirectURI: "http://127.0.0.1/cb",
		ClientState: "xyz", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
	}
	must(t, s.IssueOAuthState(ctx, st), "IssueOAuthState")
	if err := s.IssueOAuthState(ctx, st); auth.ErrorCode(err) != auth.EConflict {
		t.Fatalf("IssueOAuthState twice: %v", err)
	}
	// Another browser's binding matches nothing, and does not use it up.
	_, err := s.ConsumeOAuthState(ctx, st.Hash, token(), now)
	wantCode(t, err, auth.ENotFound, "ConsumeOAuthState from another browser")
	_, err = s.ConsumeOAuthState(ctx, st.Hash, st.BindingHash, st.ExpiresAt)
	wantCode(t, err, auth.ENotFound, "ConsumeOAuthState expired")
	got, err := s.ConsumeOAuthState(ctx, st.Hash, st.BindingHash, now.Add(time.Minute))
	must(t, err, "ConsumeOAuthState")
	if got != st {
		t.Fatalf("ConsumeOAuthState = %+v, want %+v", got, st)
	}
	_, err = s.ConsumeOAuthState(ctx, st.Hash, st.BindingHash, now.Add(time.Minute))
	wantCode(t, err, auth.ENotFound, "ConsumeOAuthState twice")

	// A linking flow names its user; concurrent callbacks: one winner.
	u := addUser(t, s, "linker")
	link := auth.OAuthState{Hash: token(), BindingHash: token(), Provider: "acme", RedirectURI: "https://app.example/cb",
		CookieMode: true, LinkUserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	must(t, s.IssueOAuthState(ctx, link), "IssueOAuthState link")
	ghost := link
	ghost.Hash, ghost.LinkUserID = token(), "no-such-user"
	wantCode(t, s.IssueOAuthState(ctx, ghost), auth.ENotFound, "IssueOAuthState for an unknown user")
	var wg sync.WaitGroup
	wins := make([]bool, 8)
	for i := range wins {
		wg.Go(func() {
			got, err := s.ConsumeOAuthState(ctx, link.Hash, link.BindingHash, now)
			if err == nil {
				wins[i] = got.LinkUserID == u.ID && got.CookieMode
			} else if auth.ErrorCode(err) != auth.ENotFound {
				t.Errorf("ConsumeOAuthState: %v", err)
			}
		})
	}
	wg.Wait()
	n := 0
	for _, w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d concurrent callbacks won, want 1", n)
	}
	pruned, err := s.Prune(ctx, now.Add(48*time.Hour))
	must(t, err, "Prune")
	if pruned < 2 {
		t.Fatalf("Prune removed %d rows, want the two states at least", pruned)
	}
}
