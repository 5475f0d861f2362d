package outbox

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// The tests in this file run the sender over the real stores and a real
// SMTP server.

// backend opens a migrated store; a PostgreSQL one gets a schema of the
// test's own, or skips without GATEHOUSE_TEST_POSTGRES_URL.
type backend struct {
	name string
	url  func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "outbox.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Schema(t, pgtest.URL(t)) }},
}

func openStore(t *testing.T, url string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), url, sqlstore.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

// eachBackend runs fn as a parallel subtest on every backend.
func eachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.url(t))
		})
	}
}

// live is a sender over a real store, delivering to a real SMTP server.
type live struct {
	st    *sqlstore.Store
	smtp  *smtptest.Server
	clock *drift
	logs  *testkit.LogCount
	c     *mail.Composer
	s     *Sender
}

func newLive(t *testing.T, url string, adjust func(*Config)) *live {
	t.Helper()
	l := &live{st: openStore(t, url), smtp: smtptest.Start(t), clock: &drift{}}
	logs, log := testkit.NewLogCount(t)
	l.logs = logs
	tr, err := mail.NewSMTP(l.smtp.URL(), "no-reply@example.com", log)
	if err != nil {
		t.Fatal(err)
	}
	if l.c, err = mail.NewComposer(mail.Config{LinkBase: "https://id.example.com", From: "no-reply@example.com"}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Store: l.st, Transport: tr, Log: log, Registry: prometheus.NewRegistry(), Now: l.clock.Now,
		Audit: audit.New(l.st, log, 0), MinBackoff: time.Minute, MaxBackoff: 10 * time.Minute,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	l.s = New(cfg)
	return l
}

// enqueue composes a reset link to to and puts it in the outbox.
func (l *live) enqueue(t *testing.T, to string) auth.Mail {
	t.Helper()
	m, err := l.c.Compose(mail.TemplateReset, auth.MailReset, to, "", mail.Data{Username: "bob", Link: l.c.Link(mail.PathResetPassword, "tok-"+to), Expires: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.st.EnqueueMail(context.Background(), m, auth.Effects{}); err != nil {
		t.Fatalf("EnqueueMail: %v", err)
	}
	return m
}

func (l *live) drain(t *testing.T) {
	t.Helper()
	if err := l.s.Drain(context.Background()); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

// row returns the outbox's row of id.
func (l *live) row(t *testing.T, id string) auth.Mail {
	t.Helper()
	rows, err := l.st.ListMail(context.Background(), auth.MailFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rows {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no row %s", id)
	return auth.Mail{}
}

// received returns how many messages with messageID the server took.
func (l *live) received(messageID string) int {
	n := 0
	for _, m := range l.smtp.Messages() {
		p, err := m.Parse()
		if err == nil && p.Header.Get("Message-Id") == "<"+messageID+">" {
			n++
		}
	}
	return n
}

func (l *live) mailFailedEvents(t *testing.T) []auth.AuditEvent {
	t.Helper()
	events, err := l.st.AuditEvents(context.Background(), auth.AuditFilter{Event: auth.AuditMailFailed, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// drift is the wall clock moved ahead by Add: the store stamps messages
// with the wall clock, and a message must be due for the sender at once.
type drift struct {
	mu     sync.Mutex
	offset time.Duration
}

func (d *drift) Now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Now().Add(d.offset)
}

func (d *drift) Add(by time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.offset += by
}

func TestStoreDeliversOnce(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		l := newLive(t, url, nil)
		m := l.enqueue(t, "bob@example.org")
		l.drain(t)
		l.drain(t)
		if n := l.received(m.MessageID); n != 1 || len(l.smtp.Messages()) != 1 {
			t.Fatalf("received %d copies, %d messages", n, len(l.smtp.Messages()))
		}
		p, _ := l.smtp.Messages()[0].Parse()
		if !strings.Contains(p.Text, "https://id.example.com/reset-password#token=tok-bob@example.org") {
			t.Errorf("link missing:\n%s", p.Text)
		}
		row := l.row(t, m.ID)
		if row.State != auth.MailSent || row.Text != "" || row.HTML != "" || row.Attempts != 1 || row.SentAt.IsZero() {
			t.Errorf("row after sending: %+v", row)
		}
		if v := value(l.s.m.depth); v != 0 {
			t.Errorf("queue depth %v", v)
		}
	})
}

func TestStoreServerDownThenUp(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		l := newLive(t, url, nil)
		l.smtp.Stop()
		m := l.enqueue(t, "bob@example.org")
		l.drain(t)
		row := l.row(t, m.ID)
		if row.State != auth.MailPending || row.Attempts != 1 || row.LastError == "" || row.Text == "" {
			t.Fatalf("after a refused connection: %+v", row)
		}
		if wait := row.NextAttemptAt.Sub(l.clock.Now()); wait < time.Minute-time.Second || wait > 67*time.Second {
			t.Errorf("next attempt in %v, want about a minute", wait)
		}
		if v := value(l.s.m.depth); v != 1 {
			t.Errorf("queue depth %v, want 1", v)
		}
		l.drain(t) // not due yet
		if row := l.row(t, m.ID); row.Attempts != 1 {
			t.Fatalf("tried again before its time: %+v", row)
		}
		l.clock.Add(2 * time.Minute)
		l.smtp.Restart()
		l.drain(t)
		if n := l.received(m.MessageID); n != 1 {
			t.Fatalf("received %d copies after the server came back", n)
		}
		if row := l.row(t, m.ID); row.State != auth.MailSent || row.Attempts != 2 || row.LastError != "" {
			t.Errorf("row: %+v", row)
		}
	})
}

func TestStoreTemporaryThenDelivered(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		l := newLive(t, url, nil)
		l.smtp.Fail(451, smtptest.PhaseRcpt)
		m := l.enqueue(t, "bob@example.org")
		l.drain(t)
		if row := l.row(t, m.ID); row.State != auth.MailPending || !strings.Contains(row.LastError, "451") {
			t.Fatalf("after a 451: %+v", row)
		}
		if strings.Contains(l.row(t, m.ID).LastError, "bob@example.org") {
			t.Errorf("the stored error names the recipient: %q", l.row(t, m.ID).LastError)
		}
		l.smtp.Fail(0, smtptest.PhaseRcpt)
		l.clock.Add(2 * time.Minute)
		l.drain(t)
		if n := l.received(m.MessageID); n != 1 {
			t.Fatalf("received %d copies", n)
		}
		if v := value(l.s.m.retried); v != 1 {
			t.Errorf("retried_total %v", v)
		}
	})
}

func TestStorePermanentFailure(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		l := newLive(t, url, nil)
		l.smtp.Fail(550, smtptest.PhaseRcpt)
		m := l.enqueue(t, "nobody@example.org")
		l.drain(t)
		row := l.row(t, m.ID)
		if row.State != auth.MailFailed || row.Text != "" || !strings.Contains(row.LastError, "550") {
			t.Fatalf("after a 550: %+v", row)
		}
		events := l.mailFailedEvents(t)
		if len(events) != 1 || !strings.HasPrefix(events[0].Detail, "kind=reset error=permanent:") || events[0].Actor != "outbox" {
			t.Fatalf("mail.failed events: %+v", events)
		}
		if l.smtp.Refused() != 1 {
			t.Errorf("tried %d times", l.smtp.Refused())
		}
	})
}

func TestStoreMaxAttempts(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		l := newLive(t, url, func(c *Config) { c.MaxAttempts = 3 })
		l.smtp.Fail(421, smtptest.PhaseMail)
		m := l.enqueue(t, "bob@example.org")
		for range 4 {
			l.drain(t)
			l.clock.Add(11 * time.Minute)
		}
		row := l.row(t, m.ID)
		if row.State != auth.MailFailed || row.Attempts != 3 || l.smtp.Refused() != 3 {
			t.Fatalf("after three 421s: %+v, %d refused", row, l.smtp.Refused())
		}
		if events := l.mailFailedEvents(t); len(events) != 1 || !strings.Contains(events[0].Detail, "3 attempts") {
			t.Fatalf("mail.failed events: %+v", events)
		}
	})
}

// TestStoreDeadSender: a sender claimed messages and died before
// recording anything; another sends them once the lease is over.
func TestStoreDeadSender(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		l := newLive(t, url, nil)
		m := l.enqueue(t, "bob@example.org")
		claimed, err := l.st.ClaimMail(context.Background(), l.clock.Now(), 30*time.Second, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %d, %v", len(claimed), err)
		}
		l.drain(t)
		if len(l.smtp.Messages()) != 0 {
			t.Fatal("sent while another sender's lease held")
		}
		l.clock.Add(31 * time.Second)
		l.drain(t)
		if n := l.received(m.MessageID); n != 1 {
			t.Fatalf("received %d copies after the lease ended", n)
		}
		// The dead sender's late outcome is refused: its lease is gone.
		err = l.st.MarkMailSent(context.Background(), m.ID, claimed[0].Lease, l.clock.Now())
		if auth.ErrorCode(err) != auth.ENotFound {
			t.Errorf("outcome under the old lease: %v", err)
		}
	})
}

func TestStoreResetRequests(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		var l *live
		l = newLive(t, url, func(c *Config) { c.Resolver = composingResolver{&l, "known@example.org"} })
		for _, to := range []string{"known@example.org", "nobody@example.org"} {
			req := auth.Mail{Kind: auth.MailResetRequest, To: to}
			if err := l.st.EnqueueMail(context.Background(), req, auth.Effects{}); err != nil {
				t.Fatal(err)
			}
		}
		l.drain(t)
		msgs := l.smtp.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "known@example.org" {
			t.Fatalf("delivered %+v, want one message to known@example.org", msgs)
		}
		rows, err := l.st.ListMail(context.Background(), auth.MailFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Kind != auth.MailReset || rows[0].State != auth.MailSent || rows[0].UserID != "u-known" {
			t.Fatalf("outbox after resolution: %+v", rows)
		}
	})
}

// composingResolver replaces a request to known by a composed reset link.
type composingResolver struct {
	l     **live
	known string
}

func (r composingResolver) ResolveResetRequest(_ context.Context, req auth.Mail) (string, auth.Effects, error) {
	if req.To != r.known {
		return "", auth.Effects{}, nil
	}
	c := (*r.l).c
	m, err := c.Compose(mail.TemplateReset, auth.MailReset, req.To, "", mail.Data{Username: "known", Link: c.Link(mail.PathResetPassword, "t"), Expires: time.Hour})
	return "u-known", auth.Effects{Mail: []auth.Mail{m}}, err
}

// TestTwoSendersOnePostgres: two senders, each with its own connection
// pool to one database, drain 200 messages at once: each is delivered
// exactly once.
func TestTwoSendersOnePostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t, pgtest.URL(t))
	a := newLive(t, url, nil)
	b := newLive(t, url, nil)
	b.smtp = a.smtp
	tr, err := mail.NewSMTP(a.smtp.URL(), "no-reply@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	b.s = New(Config{Store: b.st, Transport: tr, Log: b.s.c.Log, Batch: 16, Now: time.Now})
	a.s.c.Batch, a.s.c.Now = 16, time.Now

	ids := map[string]bool{}
	for i := range 200 {
		m := a.enqueue(t, "user"+string(rune('a'+i%26))+"@example.org")
		ids[m.MessageID] = true
	}
	var wg sync.WaitGroup
	for _, s := range []*Sender{a.s, b.s} {
		wg.Go(func() {
			if err := s.Drain(context.Background()); err != nil {
				t.Errorf("Drain: %v", err)
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range a.smtp.Messages() {
		p, err := m.Parse()
		if err != nil {
			t.Fatal(err)
		}
		seen[strings.Trim(p.Header.Get("Message-Id"), "<>")]++
	}
	if len(seen) != 200 {
		t.Errorf("%d distinct messages received, want 200", len(seen))
	}
	for id, n := range seen {
		if n != 1 || !ids[id] {
			t.Errorf("%s received %d times (ours: %v)", id, n, ids[id])
		}
	}
	counts, err := a.st.CountMail(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts[auth.MailSent] != 200 || counts[auth.MailPending] != 0 {
		t.Errorf("counts %v", counts)
	}
	t.Logf("sent by a: %v, by b: %v", value(a.s.m.sentBy.WithLabelValues("reset")), value(b.s.m.sentBy.WithLabelValues("reset")))
}
