package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

const purposeTest auth.SecretPurpose = "storetest"

func newSecret(u auth.User, now time.Time, attempts int) auth.OneTimeSecret {
	return auth.OneTimeSecret{Hash: token(), Purpose: purposeTest, OwnerID: u.ID, Data: "payload",
		CreatedAt: now, ExpiresAt: now.Add(time.Minute), AttemptsLeft: attempts}
}

func testSecretLifecycle(t *testing.T, s auth.Store) {
	u := addUser(t, s, "sam")
	now := present()
	sec := newSecret(u, now, 3)
	must(t, s.IssueSecret(t.Context(), sec, false), "IssueSecret")
	wantCode(t, s.IssueSecret(t.Context(), sec, false), auth.EConflict, "IssueSecret twice")

	got, err := s.LookupSecret(t.Context(), purposeTest, sec.Hash, now)
	must(t, err, "LookupSecret")
	if got.OwnerID != u.ID || got.Data != "payload" || got.AttemptsLeft != 3 || !got.ExpiresAt.Equal(sec.ExpiresAt) {
		t.Fatalf("LookupSecret = %+v", got)
	}
	_, err = s.LookupSecret(t.Context(), "other", sec.Hash, now)
	wantCode(t, err, auth.ENotFound, "LookupSecret under another purpose")
	_, err = s.LookupSecret(t.Context(), purposeTest, sec.Hash, sec.ExpiresAt)
	wantCode(t, err, auth.ENotFound, "LookupSecret at its expiry")

	left, err := s.FailSecretAttempt(t.Context(), purposeTest, sec.Hash, now)
	must(t, err, "FailSecretAttempt")
	if left != 2 {
		t.Fatalf("attempts left = %d, want 2", left)
	}
	got, err = s.ConsumeSecret(t.Context(), purposeTest, sec.Hash, now)
	must(t, err, "ConsumeSecret")
	if got.OwnerID != u.ID || got.AttemptsLeft != 2 || !got.UsedAt.IsZero() {
		t.Fatalf("ConsumeSecret = %+v", got)
	}
	_, err = s.ConsumeSecret(t.Context(), purposeTest, sec.Hash, now)
	wantCode(t, err, auth.ENotFound, "ConsumeSecret twice")
	_, err = s.FailSecretAttempt(t.Context(), purposeTest, sec.Hash, now)
	wantCode(t, err, auth.ENotFound, "FailSecretAttempt on a used secret")
	_, err = s.LookupSecret(t.Context(), purposeTest, sec.Hash, now)
	wantCode(t, err, auth.ENotFound, "LookupSecret of a used secret")

	wantCode(t, s.IssueSecret(t.Context(), auth.OneTimeSecret{Hash: token(), Purpose: purposeTest, OwnerID: "nobody",
		ExpiresAt: now.Add(time.Minute), AttemptsLeft: 1}, false), auth.ENotFound, "IssueSecret for an unknown user")
}

func testSecretAttempts(t *testing.T, s auth.Store) {
	u := addUser(t, s, "tess")
	now := present()
	sec := newSecret(u, now, 2)
	must(t, s.IssueSecret(t.Context(), sec, false), "IssueSecret")
	for want := 1; want >= 0; want-- {
		left, err := s.FailSecretAttempt(t.Context(), purposeTest, sec.Hash, now)
		must(t, err, "FailSecretAttempt")
		if left != want {
			t.Fatalf("attempts left = %d, want %d", left, want)
		}
	}
	_, err := s.ConsumeSecret(t.Context(), purposeTest, sec.Hash, now)
	wantCode(t, err, auth.ENotFound, "ConsumeSecret with no attempts left")
	_, err = s.ConsumeSecret(t.Context(), purposeTest, token(), now)
	wantCode(t, err, auth.ENotFound, "ConsumeSecret of an unknown hash")
}

// testSecretVoid: a newer secret of a purpose voids the older ones of the
// same owner, and only those; so does VoidSecrets, and so do Effects.
func testSecretVoid(t *testing.T, s auth.Store) {
	u, other := addUser(t, s, "uma"), addUser(t, s, "vic")
	now := present()
	old, theirs := newSecret(u, now, 1), newSecret(other, now, 1)
	must(t, s.IssueSecret(t.Context(), old, false), "IssueSecret")
	must(t, s.IssueSecret(t.Context(), theirs, false), "IssueSecret")
	newer := newSecret(u, now, 1)
	must(t, s.IssueSecret(t.Context(), newer, true), "IssueSecret voiding")
	_, err := s.LookupSecret(t.Context(), purposeTest, old.Hash, now)
	wantCode(t, err, auth.ENotFound, "the voided secret")
	for _, h := range []string{newer.Hash, theirs.Hash} {
		_, err := s.LookupSecret(t.Context(), purposeTest, h, now)
		must(t, err, "a secret that must not be voided")
	}
	n, err := s.VoidSecrets(t.Context(), purposeTest, u.ID, now)
	must(t, err, "VoidSecrets")
	if n != 1 {
		t.Fatalf("VoidSecrets voided %d, want 1", n)
	}
	_, err = s.ConsumeSecret(t.Context(), purposeTest, newer.Hash, now)
	wantCode(t, err, auth.ENotFound, "ConsumeSecret of a voided secret")

	// A change's Effects void and issue in its transaction.
	viaFx := newSecret(u, now, 1)
	role := auth.RoleAdmin
	_, _, err = s.UpdateUser(t.Context(), u.ID, auth.UserUpdate{Role: &role}, auth.EndSessions{}, now.Add(time.Hour),
		auth.Effects{Void: []auth.SecretPurpose{purposeTest}, Secrets: []auth.OneTimeSecret{viaFx}})
	must(t, err, "UpdateUser with secrets")
	_, err = s.ConsumeSecret(t.Context(), purposeTest, viaFx.Hash, now)
	must(t, err, "ConsumeSecret of a secret issued by Effects")
	_, err = s.LookupSecret(t.Context(), purposeTest, theirs.Hash, now)
	must(t, err, "another owner's secret after Effects voided")
}

// testSecretConcurrent: of 30 concurrent consumers of one secret, exactly
// one wins.
func testSecretConcurrent(t *testing.T, s auth.Store) {
	u := addUser(t, s, "walt")
	now := present()
	sec := newSecret(u, now, 5)
	must(t, s.IssueSecret(t.Context(), sec, false), "IssueSecret")
	ctx := waitCtx(t)
	const n = 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, losses := 0, 0
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.ConsumeSecret(ctx, purposeTest, sec.Hash, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case auth.ErrorCode(err) == auth.ENotFound:
				losses++
			default:
				t.Errorf("ConsumeSecret: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins != 1 || losses != n-1 {
		t.Fatalf("%d consumers won and %d lost, want 1 and %d", wins, losses, n-1)
	}
}

// testSessionAuthentication: a session keeps how its user authenticated,
// through rotations, and SessionWithUser returns it with its user.
func testSessionAuthentication(t *testing.T, s auth.Store) {
	u := addUser(t, s, "xena")
	now := present()
	authAt := now.Add(-time.Minute)
	sess := auth.Session{ID: newID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		Auth: auth.Authentication{AMR: []string{"pwd", "otp", "mfa"}, Time: authAt}}
	h := token()
	must(t, s.CreateSession(t.Context(), sess, h, auth.Effects{}), "CreateSession")
	res, err := s.RotateRefreshToken(t.Context(), auth.Rotation{PresentedHash: h, NewHash: token(), Now: now,
		SessionTTL: time.Hour, RevokeUntil: now.Add(time.Hour)})
	must(t, err, "RotateRefreshToken")
	got, gotUser, err := s.SessionWithUser(t.Context(), sess.ID)
	must(t, err, "SessionWithUser")
	for _, a := range []auth.Authentication{res.Session.Auth, got.Auth} {
		if len(a.AMR) != 3 || a.AMR[0] != "pwd" || a.AMR[1] != "otp" || a.AMR[2] != "mfa" || !a.Time.Equal(authAt) {
			t.Fatalf("session authentication = %+v, want %+v", a, sess.Auth)
		}
	}
	if gotUser.ID != u.ID || gotUser.Username != u.Username || gotUser.Role != u.Role {
		t.Fatalf("SessionWithUser user = %+v", gotUser)
	}
	_, _, err = s.SessionWithUser(t.Context(), "no-such-session")
	wantCode(t, err, auth.ENotFound, "SessionWithUser unknown")
}

// testUpdateUserEndsOnlyWhatItIsTold: a change ends no session unless the
// caller says so.
func testUpdateUserEndsOnlyWhatItIsTold(t *testing.T, s auth.Store) {
	u := addUser(t, s, "yuri")
	sess, _ := liveSession(t, s, u)
	role := auth.RoleAdmin
	_, revs, err := s.UpdateUser(t.Context(), u.ID, auth.UserUpdate{Role: &role}, auth.EndSessions{}, present().Add(time.Hour), auth.Effects{})
	must(t, err, "UpdateUser")
	if len(revs) != 0 || sessionRevoked(t, s, sess.ID) {
		t.Fatalf("UpdateUser without EndSessions revoked %+v", revs)
	}
	// Asked to, it ends the sessions even when nothing else changes.
	_, revs, err = s.UpdateUser(t.Context(), u.ID, auth.UserUpdate{}, auth.EndSessions{All: true}, present().Add(time.Hour), auth.Effects{})
	must(t, err, "UpdateUser")
	if len(revs) != 1 || !sessionRevoked(t, s, sess.ID) {
		t.Fatalf("UpdateUser with EndSessions.All revoked %+v", revs)
	}
}
