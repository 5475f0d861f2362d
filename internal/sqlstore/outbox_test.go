package sqlstore

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// notice is a message with a body, as the services write them.
func notice(to string) auth.Mail {
	return auth.Mail{Kind: auth.MailNotice, To: to, Subject: "Your password was changed",
		Text: "text with https://example.com/reset-password#token=secret", HTML: "<p>html</p>"}
}

// allMail returns every message of the outbox, newest first.
func allMail(t *testing.T, s *Store) []auth.Mail {
	t.Helper()
	list, err := s.ListMail(t.Context(), auth.MailFilter{Limit: 10000})
	ok(t, err, "ListMail")
	return list
}

// mailByID returns the message id, which must exist.
func mailByID(t *testing.T, s *Store, id string) auth.Mail {
	t.Helper()
	for _, m := range allMail(t, s) {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no message %s in the outbox", id)
	return auth.Mail{}
}

// claim claims up to limit messages due at at, with a one-minute lease.
func claim(t *testing.T, s *Store, at time.Time, limit int) []auth.Mail {
	t.Helper()
	got, err := s.ClaimMail(t.Context(), at, time.Minute, limit)
	ok(t, err, "ClaimMail")
	return got
}

func ids(ms []auth.Mail) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func wantNotClaimed(t *testing.T, err error, what string) {
	t.Helper()
	wantErr(t, err, auth.ENotFound, "Message not claimed", what)
}

// TestEffectsMail: a message commits with its change, stamped with the
// change's user, and not without it; a message that cannot be stored fails
// the change.
func TestEffectsMail(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		before := time.Now().Add(-time.Second)
		u := auth.User{Username: "alice", Role: auth.RoleUser, PasswordHash: "h", Email: "alice@example.com"}
		other := notice("someone@example.com")
		other.UserID, other.ID, other.MessageID = "someone", "fixed-id", "fixed@example.com"
		fx := auth.Effects{Mail: []auth.Mail{notice("alice@example.com"), other}}
		ok(t, s.CreateUser(ctx, &u, fx), "CreateUser")
		list := allMail(t, s)
		if len(list) != 2 {
			t.Fatalf("outbox %v, want the two messages", list)
		}
		m := list[0]
		if m.ID == "fixed-id" {
			m = list[1]
		}
		if m.UserID != u.ID || m.ID == "" || m.MessageID != m.ID+"@gatehouse.invalid" || m.State != auth.MailPending ||
			m.Attempts != 0 || m.Lease != "" || m.Kind != auth.MailNotice || m.To != "alice@example.com" ||
			m.Subject == "" || m.Text == "" || m.HTML == "" || m.CreatedAt.Before(before) ||
			!m.NextAttemptAt.Equal(m.CreatedAt) || !m.SentAt.IsZero() {
			t.Fatalf("stored message %+v", m)
		}
		if f := mailByID(t, s, "fixed-id"); f.UserID != "someone" || f.MessageID != "fixed@example.com" {
			t.Fatalf("a message's own ids were replaced: %+v", f)
		}

		// A change that fails leaves no message.
		dup := auth.User{Username: "ALICE", Role: auth.RoleUser, PasswordHash: "h"}
		wantErr(t, s.CreateUser(ctx, &dup, auth.Effects{Mail: []auth.Mail{notice("x@example.com")}}), auth.EConflict, "Username already exists", "CreateUser ALICE")
		// A message that cannot be stored fails its change.
		for _, bad := range []auth.Mail{
			{Kind: auth.MailNotice, To: ""},
			{Kind: "", To: "a@example.com"},
			{Kind: auth.MailNotice, To: "a@example.com", Text: "bad\x00"},
			{ID: "fixed-id", Kind: auth.MailNotice, To: "a@example.com"},
		} {
			_, _, err := s.UpdateUser(ctx, u.ID, auth.UserUpdate{Role: new(auth.RoleAdmin)}, auth.EndSessions{}, time.Now(),
				auth.Effects{Mail: []auth.Mail{notice("first@example.com"), bad}})
			if err == nil {
				t.Fatalf("UpdateUser with the message %+v succeeded", bad)
			}
		}
		got, err := s.UserByID(ctx, u.ID)
		ok(t, err, "UserByID")
		if got.Role != auth.RoleUser || len(allMail(t, s)) != 2 {
			t.Fatalf("a failed change left role %s and %d messages", got.Role, len(allMail(t, s)))
		}
		// Effects of other changes carry mail too.
		ok(t, s.CreateSession(ctx, auth.Session{ID: "s1", UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}, "r1",
			auth.Effects{Mail: []auth.Mail{notice("alice@example.com")}}), "CreateSession")
		if list := allMail(t, s); len(list) != 3 || list[1].UserID != u.ID || list[1].ID < list[2].ID {
			t.Fatalf("after CreateSession: %+v", list)
		}
	})
}

func TestEnqueueMail(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "alice", "alice@example.com", true)
		m := notice("alice@example.com")
		m.UserID, m.State, m.Attempts = u.ID, auth.MailSent, 7 // the store decides these
		fx := auth.Effects{Audit: []auth.AuditEvent{{Event: auth.AuditVerificationSent}}}
		ok(t, s.EnqueueMail(ctx, m, fx), "EnqueueMail")
		list := allMail(t, s)
		if len(list) != 1 || list[0].State != auth.MailPending || list[0].Attempts != 0 || list[0].UserID != u.ID {
			t.Fatalf("outbox %+v", list)
		}
		events, err := s.AuditEvents(ctx, auth.AuditFilter{Limit: 10})
		ok(t, err, "AuditEvents")
		if len(events) != 1 || events[0].UserID != u.ID || events[0].Username != "alice" {
			t.Fatalf("events %+v, want one naming alice", events)
		}
		wantErr(t, s.EnqueueMail(ctx, auth.Mail{Kind: auth.MailNotice}, auth.Effects{}), auth.EInvalid, "", "EnqueueMail without a recipient")
		dup := notice("a@example.com")
		dup.ID = list[0].ID
		wantErr(t, s.EnqueueMail(ctx, dup, auth.Effects{}), auth.EConflict, "Message already exists", "EnqueueMail of a taken id")
		sec := auth.OneTimeSecret{Purpose: auth.PurposeVerifyEmail, Hash: "h1", OwnerID: "no-such-user", ExpiresAt: time.Now().Add(time.Hour), AttemptsLeft: 1}
		wantErr(t, s.EnqueueMail(ctx, notice("a@example.com"), auth.Effects{Secrets: []auth.OneTimeSecret{sec}}),
			auth.ENotFound, "User not found", "EnqueueMail with a secret of nobody")
		if n := len(allMail(t, s)); n != 1 {
			t.Fatalf("%d messages after the failures, want 1", n)
		}
	})
}

// TestClaimMail: only due messages are claimed, oldest due first; a lease
// keeps other claims off until it ends; the outcome needs the current
// lease.
func TestClaimMail(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		for i := range 3 {
			ok(t, s.EnqueueMail(ctx, notice(fmt.Sprintf("u%d@example.com", i)), auth.Effects{}), "EnqueueMail")
		}
		queued := allMail(t, s) // newest first
		now := time.Now().Add(time.Second)
		if got := claim(t, s, now.Add(-time.Hour), 10); len(got) != 0 {
			t.Fatalf("claimed %v before they were due", ids(got))
		}
		first := claim(t, s, now, 2)
		if len(first) != 2 || first[0].ID != queued[2].ID || first[1].ID != queued[1].ID || first[0].Lease == "" ||
			first[0].Lease != first[1].Lease || first[0].Text == "" {
			t.Fatalf("first claim %+v, want the two oldest under one lease", first)
		}
		second := claim(t, s, now, 10)
		if len(second) != 1 || second[0].ID != queued[0].ID || second[0].Lease == first[0].Lease {
			t.Fatalf("second claim %v, want the third message under a lease of its own", ids(second))
		}
		if got := claim(t, s, now.Add(59*time.Second), 10); len(got) != 0 {
			t.Fatalf("claimed %v under live leases", ids(got))
		}
		// Once the leases end, the messages are claimed again, under new ones.
		again := claim(t, s, now.Add(time.Minute), 10)
		if len(again) != 3 || again[0].ID != first[0].ID {
			t.Fatalf("claim after the leases ended: %v", ids(again))
		}
		stale, live := first[0], again[0]
		wantNotClaimed(t, s.MarkMailSent(ctx, stale.ID, stale.Lease, now), "MarkMailSent with a stale lease")
		wantNotClaimed(t, s.RetryMail(ctx, stale.ID, stale.Lease, now, "x"), "RetryMail with a stale lease")
		wantNotClaimed(t, s.FailMail(ctx, stale.ID, stale.Lease, "x", now, auth.Effects{}), "FailMail with a stale lease")
		wantNotClaimed(t, s.ReplaceMail(ctx, stale.ID, stale.Lease, "", auth.Effects{}), "ReplaceMail with a stale lease")
		wantNotClaimed(t, s.MarkMailSent(ctx, live.ID, again[1].Lease+"x", now), "MarkMailSent with a wrong lease")
		wantNotClaimed(t, s.MarkMailSent(ctx, "no-such-id", live.Lease, now), "MarkMailSent of an unknown message")
		wantNotClaimed(t, s.MarkMailSent(ctx, live.ID+"\x00", live.Lease, now), "MarkMailSent of a NUL id")

		sentAt := now.Add(time.Minute).Truncate(time.Millisecond)
		ok(t, s.MarkMailSent(ctx, live.ID, live.Lease, sentAt), "MarkMailSent")
		m := mailByID(t, s, live.ID)
		if m.State != auth.MailSent || !m.SentAt.Equal(sentAt) || m.Attempts != 1 || m.Text != "" || m.HTML != "" ||
			m.Subject == "" || m.Lease != "" || m.LastError != "" {
			t.Fatalf("sent message %+v", m)
		}
		wantNotClaimed(t, s.MarkMailSent(ctx, live.ID, live.Lease, sentAt), "MarkMailSent twice")
		wantNotClaimed(t, s.RetryMail(ctx, live.ID, live.Lease, now, "x"), "RetryMail of a sent message")
	})
}

// TestRetryAndFailMail: a retry ends the claim and makes the message due
// at its time; failing blanks the body and writes the effects under the
// message's user; an unclaimed message cannot be settled with the empty
// lease.
func TestRetryAndFailMail(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "alice", "alice@example.com", true)
		m := notice("alice@example.com")
		m.UserID = u.ID
		ok(t, s.EnqueueMail(ctx, m, auth.Effects{}), "EnqueueMail")
		id := allMail(t, s)[0].ID
		now := time.Now().Add(time.Second)
		for _, err := range []error{
			s.MarkMailSent(ctx, id, "", now),
			s.RetryMail(ctx, id, "", now, "x"),
			s.FailMail(ctx, id, "", "x", now, auth.Effects{}),
			s.ReplaceMail(ctx, id, "", "", auth.Effects{}),
		} {
			wantNotClaimed(t, err, "an outcome with the empty lease of an unclaimed message")
		}

		c := claim(t, s, now, 1)
		next := now.Add(5 * time.Minute)
		long := strings.Repeat("é", 600) + "\x00\xff"
		ok(t, s.RetryMail(ctx, id, c[0].Lease, next, "421 busy "+long), "RetryMail")
		r := mailByID(t, s, id)
		if r.State != auth.MailPending || r.Attempts != 1 || !strings.HasPrefix(r.LastError, "421 busy é") ||
			len(r.LastError) > maxLastError || !utf8.ValidString(r.LastError) || r.Lease != "" ||
			!r.NextAttemptAt.Equal(next.Truncate(time.Millisecond)) || r.Text == "" {
			t.Fatalf("retried message %+v", r)
		}
		wantNotClaimed(t, s.RetryMail(ctx, id, c[0].Lease, next, "x"), "RetryMail after the claim ended")
		if got := claim(t, s, next.Add(-time.Millisecond), 1); len(got) != 0 {
			t.Fatal("claimed a retried message before its time")
		}
		c = claim(t, s, next, 1)
		if len(c) != 1 {
			t.Fatal("a retried message was not claimed at its time")
		}
		fx := auth.Effects{Audit: []auth.AuditEvent{{Event: auth.AuditMailFailed, Detail: "notice 550"}}}
		ok(t, s.FailMail(ctx, id, c[0].Lease, "550 no such user", next, fx), "FailMail")
		f := mailByID(t, s, id)
		if f.State != auth.MailFailed || f.Attempts != 2 || f.LastError != "550 no such user" || f.Text != "" ||
			f.HTML != "" || f.Lease != "" || !f.SentAt.IsZero() {
			t.Fatalf("failed message %+v", f)
		}
		events, err := s.AuditEvents(ctx, auth.AuditFilter{Event: auth.AuditMailFailed, Limit: 10})
		ok(t, err, "AuditEvents")
		if len(events) != 1 || events[0].UserID != u.ID || events[0].Username != "alice" {
			t.Fatalf("events %+v, want one naming alice", events)
		}
		if got := claim(t, s, next.Add(time.Hour), 10); len(got) != 0 {
			t.Fatal("claimed a failed message")
		}
		_, err = s.ClaimMail(ctx, now, 0, 10)
		wantErr(t, err, auth.EInvalid, "", "ClaimMail with no lease")
		if got, err := s.ClaimMail(ctx, now, time.Minute, 0); err != nil || got != nil {
			t.Fatalf("ClaimMail of none: %v, %v", got, err)
		}
	})
}

// TestReplaceMail: a resolved reset request is deleted, the user's older
// link voided, a new one issued and its message queued, all or nothing.
func TestReplaceMail(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "alice", "alice@example.com", true)
		now := time.Now().Add(time.Second)
		secret := func(hash string) auth.OneTimeSecret {
			return auth.OneTimeSecret{Purpose: auth.PurposeResetPassword, Hash: hash, OwnerID: u.ID, ExpiresAt: now.Add(time.Hour), AttemptsLeft: 1}
		}
		ok(t, s.IssueSecret(ctx, secret("old"), false), "IssueSecret")
		ok(t, s.EnqueueMail(ctx, auth.Mail{Kind: auth.MailResetRequest, To: "ALICE@example.com"}, auth.Effects{}), "EnqueueMail")
		req := claim(t, s, now, 1)[0]
		link := notice("alice@example.com")
		link.Kind = auth.MailReset
		replace := func(lease string, mail ...auth.Mail) error {
			return s.ReplaceMail(ctx, req.ID, lease, u.ID, auth.Effects{
				Void: []auth.SecretPurpose{auth.PurposeResetPassword}, Secrets: []auth.OneTimeSecret{secret("new")},
				Mail: mail, Audit: []auth.AuditEvent{{Event: auth.AuditResetSent}}})
		}
		unchanged := func(what string) {
			t.Helper()
			_, errOld := s.LookupSecret(ctx, auth.PurposeResetPassword, "old", now)
			_, errNew := s.LookupSecret(ctx, auth.PurposeResetPassword, "new", now)
			events, err := s.AuditEvents(ctx, auth.AuditFilter{Limit: 10})
			ok(t, err, "AuditEvents")
			if list := allMail(t, s); errOld != nil || auth.ErrorCode(errNew) != auth.ENotFound || len(list) != 1 ||
				list[0].ID != req.ID || list[0].Lease != req.Lease || len(events) != 0 {
				t.Fatalf("%s changed something: old %v, new %v, outbox %+v, events %v", what, errOld, errNew, list, events)
			}
		}
		wantNotClaimed(t, replace(req.Lease+"x", link), "ReplaceMail with a wrong lease")
		unchanged("ReplaceMail with a wrong lease")
		if err := replace(req.Lease, link, auth.Mail{Kind: auth.MailReset}); auth.ErrorCode(err) != auth.EInvalid {
			t.Fatalf("ReplaceMail with a message without a recipient: %v", err)
		}
		unchanged("ReplaceMail with a message that cannot be stored")

		ok(t, replace(req.Lease, link), "ReplaceMail")
		if _, err := s.LookupSecret(ctx, auth.PurposeResetPassword, "old", now); auth.ErrorCode(err) != auth.ENotFound {
			t.Fatalf("the older link is still usable: %v", err)
		}
		_, err := s.LookupSecret(ctx, auth.PurposeResetPassword, "new", now)
		ok(t, err, "the new link")
		list := allMail(t, s)
		if len(list) != 1 || list[0].ID == req.ID || list[0].Kind != auth.MailReset || list[0].UserID != u.ID ||
			list[0].State != auth.MailPending || list[0].Text == "" {
			t.Fatalf("outbox after ReplaceMail: %+v", list)
		}
		events, err := s.AuditEvents(ctx, auth.AuditFilter{Limit: 10})
		ok(t, err, "AuditEvents")
		if len(events) != 1 || events[0].UserID != u.ID || events[0].Username != "alice" {
			t.Fatalf("events %+v, want one naming alice", events)
		}
		wantNotClaimed(t, replace(req.Lease, link), "ReplaceMail twice")

		// A request that matches no account is just deleted.
		ok(t, s.EnqueueMail(ctx, auth.Mail{Kind: auth.MailResetRequest, To: "nobody@example.com"}, auth.Effects{}), "EnqueueMail")
		var nobody auth.Mail
		for _, m := range claim(t, s, now.Add(time.Minute), 10) {
			if m.Kind == auth.MailResetRequest {
				nobody = m
			}
		}
		ok(t, s.ReplaceMail(ctx, nobody.ID, nobody.Lease, "", auth.Effects{}), "ReplaceMail with nothing")
		if n := len(allMail(t, s)); n != 1 {
			t.Fatalf("%d messages, want the reset link alone", n)
		}
	})
}

// TestClaimMailConcurrent: senders on two stores of one database claim
// 200 messages until none is left; each is claimed exactly once.
func TestClaimMailConcurrent(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		url := sqliteURL(t)
		claimConcurrently(t, closeAtEnd(t, openMigrated(t, url)), closeAtEnd(t, mustOpen(t, url, Options{})))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := newSchema(t, postgresURL(t))
		claimConcurrently(t, closeAtEnd(t, openMigrated(t, url)), closeAtEnd(t, mustOpen(t, url, Options{})))
	})
}

func claimConcurrently(t *testing.T, a, b *Store) {
	ctx := t.Context()
	const n = 200
	fx := auth.Effects{}
	for i := 1; i < n; i++ {
		fx.Mail = append(fx.Mail, notice(fmt.Sprintf("u%d@example.com", i)))
	}
	ok(t, a.EnqueueMail(ctx, notice("u0@example.com"), fx), "EnqueueMail")
	now := time.Now().Add(time.Second)
	var mu sync.Mutex
	claims := map[string]int{}
	var wg sync.WaitGroup
	for i := range 6 {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			for {
				got, err := s.ClaimMail(ctx, now, time.Minute, 7)
				if err != nil {
					t.Errorf("ClaimMail: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, m := range got {
					mu.Lock()
					claims[m.ID]++
					mu.Unlock()
					if err := s.MarkMailSent(ctx, m.ID, m.Lease, now); err != nil {
						t.Errorf("MarkMailSent: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if len(claims) != n {
		t.Fatalf("%d messages claimed, want %d", len(claims), n)
	}
	for id, c := range claims {
		if c != 1 {
			t.Fatalf("message %s claimed %d times", id, c)
		}
	}
	counts, err := b.CountMail(ctx)
	ok(t, err, "CountMail")
	if counts[auth.MailSent] != n || counts[auth.MailPending] != 0 {
		t.Fatalf("counts %v, want all %d sent", counts, n)
	}
}

func TestListCountPruneMail(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		for i := range 5 {
			ok(t, s.EnqueueMail(ctx, notice(fmt.Sprintf("u%d@example.com", i)), auth.Effects{}), "EnqueueMail")
		}
		now := time.Now().Add(time.Second)
		c := claim(t, s, now, 3) // the three oldest: u0, u1, u2
		ok(t, s.MarkMailSent(ctx, c[0].ID, c[0].Lease, now), "MarkMailSent")
		ok(t, s.MarkMailSent(ctx, c[1].ID, c[1].Lease, now), "MarkMailSent")
		ok(t, s.FailMail(ctx, c[2].ID, c[2].Lease, "550", now, auth.Effects{}), "FailMail")

		all := allMail(t, s)
		if len(all) != 5 || all[0].To != "u4@example.com" || all[4].To != "u0@example.com" {
			t.Fatalf("ListMail: %v, want newest first", all)
		}
		page, err := s.ListMail(ctx, auth.MailFilter{Limit: 2, Before: all[1].ID})
		ok(t, err, "ListMail page")
		if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
			t.Fatalf("page before %s: %v", all[1].ID, ids(page))
		}
		sent, err := s.ListMail(ctx, auth.MailFilter{State: auth.MailSent, Limit: 10})
		ok(t, err, "ListMail sent")
		if len(sent) != 2 || sent[0].ID != c[1].ID || sent[1].ID != c[0].ID {
			t.Fatalf("sent: %v", ids(sent))
		}
		pending, err := s.ListMail(ctx, auth.MailFilter{State: auth.MailPending, Before: all[0].ID, Limit: 10})
		ok(t, err, "ListMail pending")
		if len(pending) != 1 || pending[0].ID != all[1].ID {
			t.Fatalf("pending before the newest: %v", ids(pending))
		}
		for _, f := range []auth.MailFilter{{Limit: 0}, {State: "sent\x00", Limit: 10}, {Before: "\xff", Limit: 10}} {
			if got, err := s.ListMail(ctx, f); err != nil || len(got) != 0 {
				t.Fatalf("ListMail %+v: %v, %v", f, ids(got), err)
			}
		}
		counts, err := s.CountMail(ctx)
		ok(t, err, "CountMail")
		if len(counts) != 3 || counts[auth.MailPending] != 2 || counts[auth.MailSent] != 2 || counts[auth.MailFailed] != 1 {
			t.Fatalf("counts %v", counts)
		}

		n, err := s.PruneMail(ctx, all[4].CreatedAt)
		ok(t, err, "PruneMail before the first")
		if n != 0 {
			t.Fatalf("PruneMail before any message deleted %d", n)
		}
		n, err = s.PruneMail(ctx, now.Add(time.Hour))
		ok(t, err, "PruneMail")
		counts, err = s.CountMail(ctx)
		ok(t, err, "CountMail")
		if n != 3 || counts[auth.MailPending] != 2 || counts[auth.MailSent]+counts[auth.MailFailed] != 0 {
			t.Fatalf("PruneMail deleted %d, left %v; want the sent and failed gone, the pending kept", n, counts)
		}
	})
}

func TestStorableError(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                             "",
		"550 no":                       "550 no",
		"a\x00b":                       "ab",
		"a\xffb":                       "a\uFFFDb",
		strings.Repeat("x", 999):       strings.Repeat("x", 999),
		strings.Repeat("x", 999) + "é": strings.Repeat("x", 999),
		strings.Repeat("x", 2000):      strings.Repeat("x", 1000),
	} {
		if got := storableError(in); got != want {
			t.Errorf("storableError(%.20q…) = %.20q… (%d bytes), want %d bytes", in, got, len(got), len(want))
		}
	}
}
