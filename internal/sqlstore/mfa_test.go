package sqlstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// event is an audit event of a change to second factors.
func event(detail string) auth.Effects {
	return auth.Effects{Audit: []auth.AuditEvent{{Event: auth.AuditUserUpdated, Detail: detail}}}
}

// recoveryCodes are effects that replace the user's recovery codes with n
// new ones, hashed "<prefix>-<i>".
func recoveryCodes(userID, prefix string, n int) auth.Effects {
	fx := auth.Effects{Void: []auth.SecretPurpose{auth.PurposeRecoveryCode}}
	for i := range n {
		fx.Secrets = append(fx.Secrets, auth.OneTimeSecret{Purpose: auth.PurposeRecoveryCode,
			Hash: fmt.Sprintf("%s-%d", prefix, i), OwnerID: userID,
			ExpiresAt: time.Now().AddDate(100, 0, 0), AttemptsLeft: 1})
	}
	return fx
}

// codesLeft returns how many usable recovery codes the user has now.
func codesLeft(t *testing.T, s *Store, userID string) int {
	t.Helper()
	n, err := s.CountSecrets(t.Context(), auth.PurposeRecoveryCode, userID, time.Now())
	ok(t, err, "CountSecrets")
	return n
}

// wantMFAEnabled checks the flag of the user id everywhere a user is read.
func wantMFAEnabled(t *testing.T, s *Store, id, sessionID string, on bool, what string) {
	t.Helper()
	ctx := t.Context()
	byID, err := s.UserByID(ctx, id)
	ok(t, err, "UserByID")
	byName, err := s.UserByName(ctx, byID.Username)
	ok(t, err, "UserByName")
	_, withSession, err := s.SessionWithUser(ctx, sessionID)
	ok(t, err, "SessionWithUser")
	users, err := s.ListUsers(ctx, "", 100)
	ok(t, err, "ListUsers")
	listed := !on
	for _, u := range users {
		if u.ID == id {
			listed = u.MFAEnabled
		}
	}
	if byID.MFAEnabled != on || byName.MFAEnabled != on || withSession.MFAEnabled != on || listed != on {
		t.Fatalf("%s: MFAEnabled by id %v, by name %v, with session %v, listed %v; want %v",
			what, byID.MFAEnabled, byName.MFAEnabled, withSession.MFAEnabled, listed, on)
	}
}

// startSessions starts live sessions with the given ids for the user.
func startSessions(t *testing.T, s *Store, userID string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		sess := auth.Session{ID: id, UserID: userID, ExpiresAt: time.Now().Add(time.Hour)}
		ok(t, s.CreateSession(t.Context(), sess, "r-"+id, auth.Effects{}), "CreateSession "+id)
	}
}

// wantRevoked checks which of the sessions ids are ended.
func wantRevoked(t *testing.T, s *Store, revoked map[string]bool, what string) {
	t.Helper()
	for id, want := range revoked {
		sess, err := s.SessionByID(t.Context(), id)
		ok(t, err, "SessionByID "+id)
		if got := !sess.RevokedAt.IsZero(); got != want {
			t.Fatalf("%s: session %s revoked %v, want %v", what, id, got, want)
		}
	}
}

// wantSessionRevocations checks that revs name exactly the sessions ids,
// each until until.
func wantSessionRevocations(t *testing.T, revs []auth.Revocation, until time.Time, ids ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, r := range revs {
		if r.Kind != auth.RevokedSession || !r.ExpiresAt.Equal(until) {
			t.Fatalf("revocation %+v, want a session's until %v", r, until)
		}
		got[r.ID] = true
	}
	if len(got) != len(ids) || len(revs) != len(ids) {
		t.Fatalf("revocations %v, want sessions %v", revs, ids)
	}
	for _, id := range ids {
		if !got[id] {
			t.Fatalf("revocations %v, want sessions %v", revs, ids)
		}
	}
}

// lastEvent returns the newest audit event.
func lastEvent(t *testing.T, s *Store) auth.AuditEvent {
	t.Helper()
	events, err := s.AuditEvents(t.Context(), auth.AuditFilter{Limit: 1})
	ok(t, err, "AuditEvents")
	if len(events) != 1 {
		t.Fatal("no audit event")
	}
	return events[0]
}

// TestTOTPEnrolment: a pending factor is stored and replaced, confirmed
// once, then refused a new enrolment; the user's flag follows, wherever
// the user is read; disabling removes a factor, pending or on.
func TestTOTPEnrolment(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "alice", "", false)
		startSessions(t, s, u.ID, "s1")
		_, err := s.TOTPOf(ctx, u.ID)
		wantErr(t, err, auth.ENotFound, errNoFactor, "TOTPOf before enrolment")

		ok(t, s.SetPendingTOTP(ctx, u.ID, "sealed-1", event("pending")), "SetPendingTOTP")
		if e := lastEvent(t, s); e.UserID != u.ID || e.Username != "alice" || e.Detail != "pending" {
			t.Fatalf("SetPendingTOTP's event %+v, want it stamped with alice", e)
		}
		ok(t, s.SetPendingTOTP(ctx, u.ID, "sealed-2", auth.Effects{}), "SetPendingTOTP again")
		f, err := s.TOTPOf(ctx, u.ID)
		ok(t, err, "TOTPOf")
		if f.UserID != u.ID || f.Secret != "sealed-2" || f.Confirmed() || f.LastStep != -1 || f.CreatedAt.IsZero() {
			t.Fatalf("pending factor %+v, want the second secret, unconfirmed, no step used", f)
		}
		wantMFAEnabled(t, s, u.ID, "s1", false, "pending")

		revs, err := s.ConfirmTOTP(ctx, u.ID, 1000, auth.EndSessions{}, time.Now(), auth.Effects{})
		ok(t, err, "ConfirmTOTP")
		if len(revs) != 0 {
			t.Fatalf("ConfirmTOTP without EndSessions revoked %v", revs)
		}
		wantRevoked(t, s, map[string]bool{"s1": false}, "ConfirmTOTP without EndSessions")
		f, err = s.TOTPOf(ctx, u.ID)
		ok(t, err, "TOTPOf")
		if f.Secret != "sealed-2" || !f.Confirmed() || f.LastStep != 1000 {
			t.Fatalf("confirmed factor %+v, want sealed-2, confirmed, step 1000", f)
		}
		wantMFAEnabled(t, s, u.ID, "s1", true, "confirmed")

		_, err = s.ConfirmTOTP(ctx, u.ID, 1001, auth.EndSessions{}, time.Now(), auth.Effects{})
		wantErr(t, err, auth.ENotFound, "No two-factor enrolment is pending", "ConfirmTOTP twice")
		err = s.SetPendingTOTP(ctx, u.ID, "sealed-3", auth.Effects{})
		if !errors.Is(err, auth.ErrMFAAlreadyEnabled) {
			t.Fatalf("SetPendingTOTP while on: %v, want ErrMFAAlreadyEnabled", err)
		}
		if f, _ := s.TOTPOf(ctx, u.ID); f.Secret != "sealed-2" || f.LastStep != 1000 {
			t.Fatalf("a refused enrolment changed the factor: %+v", f)
		}

		_, err = s.DisableMFA(ctx, u.ID, auth.EndSessions{}, time.Now(), auth.Effects{})
		ok(t, err, "DisableMFA")
		_, err = s.TOTPOf(ctx, u.ID)
		wantErr(t, err, auth.ENotFound, errNoFactor, "TOTPOf after DisableMFA")
		wantMFAEnabled(t, s, u.ID, "s1", false, "disabled")
		_, err = s.DisableMFA(ctx, u.ID, auth.EndSessions{}, time.Now(), auth.Effects{})
		wantErr(t, err, auth.ENotFound, errNoFactor, "DisableMFA twice")

		// A pending factor is removed alike, and the flag stays off.
		ok(t, s.SetPendingTOTP(ctx, u.ID, "sealed-4", auth.Effects{}), "SetPendingTOTP after DisableMFA")
		_, err = s.DisableMFA(ctx, u.ID, auth.EndSessions{}, time.Now(), auth.Effects{})
		ok(t, err, "DisableMFA of a pending factor")
		wantMFAEnabled(t, s, u.ID, "s1", false, "pending removed")
		_, err = s.ConfirmTOTP(ctx, u.ID, 1, auth.EndSessions{}, time.Now(), auth.Effects{})
		wantErr(t, err, auth.ENotFound, "No two-factor enrolment is pending", "ConfirmTOTP with nothing pending")
		wantMFAEnabled(t, s, u.ID, "s1", false, "a refused confirmation")
	})
}

// TestMFAUnknownUser: every method names an unknown user, or text no
// store keeps, as the others do.
func TestMFAUnknownUser(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		for _, id := range []string{"no-such-user", "bad\x00id"} {
			wantErr(t, s.SetPendingTOTP(ctx, id, "sealed", auth.Effects{}), auth.ENotFound, "User not found", "SetPendingTOTP "+id)
			_, err := s.TOTPOf(ctx, id)
			wantErr(t, err, auth.ENotFound, errNoFactor, "TOTPOf "+id)
			_, err = s.DisableMFA(ctx, id, auth.EndSessions{}, time.Now(), auth.Effects{})
			wantErr(t, err, auth.ENotFound, "User not found", "DisableMFA "+id)
			_, err = s.ConfirmTOTP(ctx, id, 1, auth.EndSessions{}, time.Now(), auth.Effects{})
			wantErr(t, err, auth.ENotFound, "User not found", "ConfirmTOTP "+id)
			used, err := s.UseTOTPStep(ctx, id, 1)
			if used || err != nil {
				t.Fatalf("UseTOTPStep %q: %v, %v; want false", id, used, err)
			}
			if n, err := s.CountSecrets(ctx, auth.PurposeRecoveryCode, id, time.Now()); n != 0 || err != nil {
				t.Fatalf("CountSecrets %q: %d, %v", id, n, err)
			}
		}
		u := createUser(t, s, "bob", "", false)
		wantErr(t, s.SetPendingTOTP(ctx, u.ID, "bad\x00secret", auth.Effects{}), auth.EInvalid, "", "SetPendingTOTP of a NUL secret")
	})
}

// TestConfirmTOTPEndsSessions: confirming ends the other sessions, not
// the excepted one, and returns their revocations; its effects commit
// with it (codes, the event stamped with the user and the count), and a
// refused confirmation ends and issues nothing.
func TestConfirmTOTPEndsSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "alice", "", false)
		startSessions(t, s, u.ID, "s1", "s2", "s3")
		ok(t, s.SetPendingTOTP(ctx, u.ID, "sealed", auth.Effects{}), "SetPendingTOTP")
		until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
		fx := recoveryCodes(u.ID, "code", 10)
		fx.Audit = event("mfa=totp").Audit
		revs, err := s.ConfirmTOTP(ctx, u.ID, 7, auth.EndSessions{All: true, Except: "s1"}, until, fx)
		ok(t, err, "ConfirmTOTP")
		wantSessionRevocations(t, revs, until, "s2", "s3")
		wantRevoked(t, s, map[string]bool{"s1": false, "s2": true, "s3": true}, "ConfirmTOTP")
		if n := codesLeft(t, s, u.ID); n != 10 {
			t.Fatalf("%d recovery codes, want 10", n)
		}
		e := lastEvent(t, s)
		if e.UserID != u.ID || e.Username != "alice" || e.Detail != "mfa=totp sessions_ended=2" {
			t.Fatalf("ConfirmTOTP's event %+v, want alice's with sessions_ended=2", e)
		}

		startSessions(t, s, u.ID, "s4")
		_, err = s.ConfirmTOTP(ctx, u.ID, 8, auth.EndSessions{All: true}, until, recoveryCodes(u.ID, "again", 10))
		wantErr(t, err, auth.ENotFound, "", "ConfirmTOTP twice")
		wantRevoked(t, s, map[string]bool{"s1": false, "s4": false}, "a refused confirmation")
		if n := codesLeft(t, s, u.ID); n != 10 {
			t.Fatalf("a refused confirmation left %d codes, want the first 10", n)
		}
		if _, err := s.LookupSecret(ctx, auth.PurposeRecoveryCode, "code-3", time.Now()); err != nil {
			t.Fatalf("a refused confirmation voided the codes: %v", err)
		}
		if e := lastEvent(t, s); e.Detail != "mfa=totp sessions_ended=2" {
			t.Fatalf("a refused confirmation wrote %+v", e)
		}
	})
}

// TestUseTOTPStep: a step is used once, never one at or before the last
// used one, and only on a confirmed factor.
func TestUseTOTPStep(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "alice", "", false)
		ok(t, s.SetPendingTOTP(ctx, u.ID, "sealed", auth.Effects{}), "SetPendingTOTP")
		use := func(step int64, want bool) {
			t.Helper()
			got, err := s.UseTOTPStep(ctx, u.ID, step)
			ok(t, err, "UseTOTPStep")
			if got != want {
				t.Fatalf("UseTOTPStep(%d) = %v, want %v", step, got, want)
			}
		}
		use(5, false) // pending
		_, err := s.ConfirmTOTP(ctx, u.ID, 10, auth.EndSessions{}, time.Now(), auth.Effects{})
		ok(t, err, "ConfirmTOTP")
		use(10, false) // the confirming code's step
		use(9, false)
		use(11, true)
		use(11, false)
		use(13, true)
		use(12, false) // older than the last used
		use(13, false)
		if f, _ := s.TOTPOf(ctx, u.ID); f.LastStep != 13 {
			t.Fatalf("last step %d, want 13", f.LastStep)
		}
	})
}

// twoStores runs fn, in parallel, on two stores of one new SQLite file
// and on two stores of one new PostgreSQL schema, as two processes would
// open them.
func twoStores(t *testing.T, fn func(t *testing.T, a, b *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		url := sqliteURL(t)
		fn(t, closeAtEnd(t, openMigrated(t, url)), closeAtEnd(t, mustOpen(t, url, Options{})))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := newSchema(t, postgresURL(t))
		fn(t, closeAtEnd(t, openMigrated(t, url)), closeAtEnd(t, mustOpen(t, url, Options{})))
	})
}

// atOnce calls fn n times concurrently, alternating between a and b,
// released together, and returns how many calls reported true.
func atOnce(t *testing.T, a, b *Store, n int, fn func(s *Store) (bool, error)) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			<-start
			won, err := fn(s)
			if err != nil {
				t.Error(err)
			}
			if won {
				wins.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return int(wins.Load())
}

// TestMFAConcurrent: of 20 concurrent confirmations, uses of one step and
// uses of one recovery code, over two stores of one database, one wins.
func TestMFAConcurrent(t *testing.T) {
	twoStores(t, func(t *testing.T, a, b *Store) {
		ctx := t.Context()
		u := createUser(t, a, "alice", "", false)
		ok(t, a.SetPendingTOTP(ctx, u.ID, "sealed", auth.Effects{}), "SetPendingTOTP")
		confirmed := atOnce(t, a, b, 20, func(s *Store) (bool, error) {
			_, err := s.ConfirmTOTP(ctx, u.ID, 1, auth.EndSessions{}, time.Now(), recoveryCodes(u.ID, randomHex(), 3))
			if auth.ErrorCode(err) == auth.ENotFound {
				return false, nil
			}
			return err == nil, err
		})
		if confirmed != 1 {
			t.Fatalf("%d confirmations won, want 1", confirmed)
		}
		if n := codesLeft(t, b, u.ID); n != 3 {
			t.Fatalf("%d recovery codes after the confirmations, want the winner's 3", n)
		}

		used := atOnce(t, a, b, 20, func(s *Store) (bool, error) { return s.UseTOTPStep(ctx, u.ID, 2) })
		if used != 1 {
			t.Fatalf("step 2 used %d times, want once", used)
		}

		ok(t, a.IssueSecret(ctx, recoveryCodes(u.ID, "code", 1).Secrets[0], false), "IssueSecret")
		consumed := atOnce(t, a, b, 20, func(s *Store) (bool, error) {
			_, err := s.ConsumeSecret(ctx, auth.PurposeRecoveryCode, "code-0", time.Now())
			if auth.ErrorCode(err) == auth.ENotFound {
				return false, nil
			}
			return err == nil, err
		})
		if consumed != 1 {
			t.Fatalf("the recovery code was consumed %d times, want once", consumed)
		}
		if n := codesLeft(t, a, u.ID); n != 3 {
			t.Fatalf("%d recovery codes after one was used, want 3", n)
		}
	})
}

// TestRecoveryCodes: codes are counted while usable, for their owner and
// purpose only; a new set replaces the old; DisableMFA voids them and ends
// the sessions asked for; deleting the user deletes factor and codes.
func TestRecoveryCodes(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "alice", "", false)
		other := createUser(t, s, "bob", "", false)
		startSessions(t, s, u.ID, "s1", "s2")
		ok(t, s.SetPendingTOTP(ctx, u.ID, "sealed", auth.Effects{}), "SetPendingTOTP")
		_, err := s.ConfirmTOTP(ctx, u.ID, 1, auth.EndSessions{}, time.Now(), recoveryCodes(u.ID, "first", 5))
		ok(t, err, "ConfirmTOTP")
		ok(t, s.IssueSecret(ctx, recoveryCodes(other.ID, "bob", 1).Secrets[0], false), "bob's code")
		ok(t, s.IssueSecret(ctx, auth.OneTimeSecret{Purpose: auth.PurposeResetPassword, Hash: "link", OwnerID: u.ID,
			ExpiresAt: time.Now().Add(time.Hour), AttemptsLeft: 1}, false), "a reset link")
		ok(t, s.IssueSecret(ctx, auth.OneTimeSecret{Purpose: auth.PurposeRecoveryCode, Hash: "expired", OwnerID: u.ID,
			ExpiresAt: time.Now().Add(-time.Second), AttemptsLeft: 1}, false), "an expired code")
		ok(t, s.IssueSecret(ctx, auth.OneTimeSecret{Purpose: auth.PurposeRecoveryCode, Hash: "spent", OwnerID: u.ID,
			ExpiresAt: time.Now().Add(time.Hour), AttemptsLeft: 0}, false), "a code out of attempts")
		if n := codesLeft(t, s, u.ID); n != 5 {
			t.Fatalf("%d codes, want 5", n)
		}
		_, err = s.ConsumeSecret(ctx, auth.PurposeRecoveryCode, "first-0", time.Now())
		ok(t, err, "ConsumeSecret")
		if n := codesLeft(t, s, u.ID); n != 4 {
			t.Fatalf("%d codes after one was used, want 4", n)
		}
		if n, _ := s.CountSecrets(ctx, auth.PurposeRecoveryCode, u.ID, time.Now().AddDate(200, 0, 0)); n != 0 {
			t.Fatalf("%d codes counted after they expire", n)
		}

		until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
		revs, err := s.DisableMFA(ctx, u.ID, auth.EndSessions{All: true, Except: "s1"}, until, event("mfa=off"))
		ok(t, err, "DisableMFA")
		wantSessionRevocations(t, revs, until, "s2")
		wantRevoked(t, s, map[string]bool{"s1": false, "s2": true}, "DisableMFA")
		if n := codesLeft(t, s, u.ID); n != 0 {
			t.Fatalf("%d codes after DisableMFA, want 0", n)
		}
		if _, err := s.ConsumeSecret(ctx, auth.PurposeRecoveryCode, "first-1", time.Now()); auth.ErrorCode(err) != auth.ENotFound {
			t.Fatalf("a code consumed after DisableMFA: %v", err)
		}
		if e := lastEvent(t, s); e.UserID != u.ID || e.Detail != "mfa=off sessions_ended=1" {
			t.Fatalf("DisableMFA's event %+v", e)
		}
		if _, err := s.LookupSecret(ctx, auth.PurposeResetPassword, "link", time.Now()); err != nil {
			t.Fatalf("DisableMFA voided a secret of another purpose: %v", err)
		}
		if n := codesLeft(t, s, other.ID); n != 1 {
			t.Fatalf("bob has %d codes, want his 1", n)
		}

		ok(t, s.SetPendingTOTP(ctx, u.ID, "sealed", auth.Effects{}), "SetPendingTOTP")
		_, err = s.ConfirmTOTP(ctx, u.ID, 1, auth.EndSessions{}, time.Now(), recoveryCodes(u.ID, "second", 3))
		ok(t, err, "ConfirmTOTP")
		_, err = s.DeleteUser(ctx, u.ID, until, false, auth.Effects{})
		ok(t, err, "DeleteUser")
		var factors, secrets int
		ok(t, s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_totp`).Scan(&factors), "count factors")
		ok(t, s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM one_time_secrets WHERE owner_id = $1`, u.ID).Scan(&secrets), "count secrets")
		if factors != 0 || secrets != 0 {
			t.Fatalf("after DeleteUser: %d factors, %d secrets of the user", factors, secrets)
		}
	})
}
