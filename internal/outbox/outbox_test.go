package outbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// fixture is a Sender over a memStore and a fakeTransport, on a clock.
type fixture struct {
	st    *memStore
	tr    *fakeTransport
	clock *clock
	reg   *prometheus.Registry
	logs  *testkit.LogCount
	s     *Sender
}

func newFixture(t *testing.T, adjust func(*Config)) *fixture {
	t.Helper()
	f := &fixture{st: newMemStore(), tr: &fakeTransport{}, clock: newClock(), reg: prometheus.NewRegistry()}
	logs, log := testkit.NewLogCount(t)
	f.logs = logs
	c := Config{
		Store: f.st, Transport: f.tr, Log: log, Registry: f.reg, Now: f.clock.Now,
		Audit: audit.New(&testkit.AuditLog{}, log, 0),
	}
	if adjust != nil {
		adjust(&c)
	}
	f.s = New(c)
	f.s.jitter = func(time.Duration) time.Duration { return 0 }
	return f
}

func (f *fixture) enqueue(n int, kind auth.MailKind) []string {
	var ids []string
	for range n {
		ids = append(ids, f.st.add(auth.Mail{Kind: kind, To: "bob@example.org", UserID: "u1", Subject: "s", Text: "body\n"}, f.clock.Now()))
	}
	return ids
}

func (f *fixture) drain(t *testing.T) {
	t.Helper()
	if err := f.s.Drain(context.Background()); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var got []time.Duration
	for a := 1; a <= 9; a++ {
		got = append(got, f.s.backoff(a))
	}
	m := time.Minute
	want := []time.Duration{m, 2 * m, 4 * m, 8 * m, 16 * m, 32 * m, time.Hour, time.Hour, time.Hour}
	if !slices.Equal(got, want) {
		t.Fatalf("backoff = %v, want %v", got, want)
	}
	if d := f.s.backoff(1 << 20); d != time.Hour {
		t.Fatalf("backoff of a huge attempt = %v", d)
	}
	// The real jitter adds up to a tenth.
	s := New(Config{MinBackoff: time.Second, MaxBackoff: time.Minute})
	for range 200 {
		if d := s.backoff(3); d < 4*time.Second || d > 4400*time.Millisecond {
			t.Fatalf("jittered backoff %v outside [4s, 4.4s]", d)
		}
	}
}

func TestDelivers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Batch = 4 })
	ids := f.enqueue(10, auth.MailVerification)
	f.enqueue(1, auth.MailNotice)
	f.drain(t)
	if got := f.tr.sentIDs(); len(got) != 11 || !slices.Contains(got, ids[9]) {
		t.Fatalf("sent %v", got)
	}
	for _, id := range ids {
		if m := f.st.get(id); m.State != auth.MailSent || m.Text != "" {
			t.Errorf("%s: state %s, text %q", id, m.State, m.Text)
		}
	}
	if n := value(f.s.m.sentBy.WithLabelValues("verification")); n != 10 {
		t.Errorf("sent_total{verification} = %v", n)
	}
	if n := value(f.s.m.sentBy.WithLabelValues("notice")); n != 1 {
		t.Errorf("sent_total{notice} = %v", n)
	}
	// Nothing is sent twice.
	f.drain(t)
	if f.tr.calls != 11 {
		t.Errorf("%d sends, want 11", f.tr.calls)
	}
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range families {
		names = append(names, mf.GetName())
	}
	if want := []string{"gatehouse_mail_failed_total", "gatehouse_mail_queue_depth", "gatehouse_mail_retried_total", "gatehouse_mail_sent_total"}; !slices.Equal(names, want) {
		t.Errorf("registered %v, want %v", names, want)
	}
}

func TestTemporaryFailureRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.tr.fails = []error{errTemporary, errTemporary}
	id := f.enqueue(1, auth.MailReset)[0]
	start := f.clock.Now()

	f.drain(t)
	m := f.st.get(id)
	if m.State != auth.MailPending || m.Attempts != 1 || !m.NextAttemptAt.Equal(start.Add(time.Minute)) || !strings.Contains(m.LastError, "451") {
		t.Fatalf("after one failure: %+v", m)
	}
	if value(f.s.m.depth) != 1 {
		t.Errorf("queue depth %v, want 1", value(f.s.m.depth))
	}
	f.clock.Add(59 * time.Second)
	f.drain(t) // not due yet
	if f.tr.calls != 1 {
		t.Fatalf("sent before its time: %d calls", f.tr.calls)
	}
	f.clock.Add(time.Second)
	f.drain(t)
	if m := f.st.get(id); m.Attempts != 2 || !m.NextAttemptAt.Equal(f.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("after two failures: %+v", m)
	}
	f.clock.Add(2 * time.Minute)
	f.drain(t)
	if m := f.st.get(id); m.State != auth.MailSent || f.tr.calls != 3 {
		t.Fatalf("after recovery: %+v, %d calls", m, f.tr.calls)
	}
	if value(f.s.m.retried) != 2 || value(f.s.m.failed) != 0 || value(f.s.m.depth) != 0 {
		t.Errorf("metrics: retried %v failed %v depth %v", value(f.s.m.retried), value(f.s.m.failed), value(f.s.m.depth))
	}
}

func TestPermanentFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.tr.fails = []error{errPermanent}
	id := f.enqueue(1, auth.MailVerification)[0]
	f.drain(t)
	m := f.st.get(id)
	if m.State != auth.MailFailed || !strings.Contains(m.LastError, "550") || f.tr.calls != 1 {
		t.Fatalf("after a permanent failure: %+v, %d calls", m, f.tr.calls)
	}
	if len(f.st.audit) != 1 {
		t.Fatalf("audit events %+v", f.st.audit)
	}
	e := f.st.audit[0]
	if e.Event != auth.AuditMailFailed || e.UserID != "u1" || e.Actor != "outbox" ||
		!strings.HasPrefix(e.Detail, "kind=verification error=") || !strings.Contains(e.Detail, "550 no such user") {
		t.Errorf("audit event %+v", e)
	}
	if value(f.s.m.failed) != 1 {
		t.Error("failed_total not counted")
	}
}

func TestMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.MaxAttempts = 3 })
	f.tr.fails = []error{errTemporary, errTemporary, errTemporary, errTemporary}
	id := f.enqueue(1, auth.MailNotice)[0]
	for range 5 {
		f.drain(t)
		f.clock.Add(2 * time.Hour)
	}
	m := f.st.get(id)
	if m.State != auth.MailFailed || f.tr.calls != 3 || !strings.Contains(m.LastError, "3 attempts") {
		t.Fatalf("after MaxAttempts: %+v, %d calls", m, f.tr.calls)
	}
	if len(f.st.audit) != 1 || f.st.audit[0].Event != auth.AuditMailFailed {
		t.Fatalf("audit %+v", f.st.audit)
	}
	if value(f.s.m.retried) != 2 {
		t.Errorf("retried %v, want 2", value(f.s.m.retried))
	}
}

func TestLostLease(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.st.markErr = auth.Errorf(auth.ENotFound, "lease lost")
	f.enqueue(1, auth.MailReset)
	f.drain(t)
	if n := f.logs.Count("outbox: lease lost before the outcome was recorded (another sender took the message over)"); n != 1 {
		t.Fatalf("lost-lease warnings: %d", n)
	}
	if value(f.s.m.sentBy.WithLabelValues("reset")) != 0 {
		t.Error("counted as sent by this sender")
	}
	// Another store error is logged as an error, not as a lost lease.
	f.st.markErr = errors.New("database is locked")
	f.clock.Add(3 * time.Minute) // the lease ends
	f.drain(t)
	if n := f.logs.Count("outbox: recording a message's outcome failed; it is handled again once its lease ends"); n != 1 {
		t.Fatalf("store-error logs: %d", n)
	}
}

func TestResetRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) {
		c.Resolver = resolver{known: map[string]string{"known@example.org": "u7"}}
	})
	known := f.st.add(auth.Mail{Kind: auth.MailResetRequest, To: "known@example.org"}, f.clock.Now())
	unknown := f.st.add(auth.Mail{Kind: auth.MailResetRequest, To: "nobody@example.org"}, f.clock.Now())
	f.drain(t)
	if f.st.get(known).ID != "" || f.st.get(unknown).ID != "" {
		t.Fatal("a request is still in the outbox")
	}
	if f.st.len() != 1 || len(f.tr.sent) != 1 {
		t.Fatalf("rows %d, sent %d: want the one replacement, sent", f.st.len(), len(f.tr.sent))
	}
	if m := f.tr.sent[0]; m.Kind != auth.MailReset || m.To != "known@example.org" || m.UserID != "u7" {
		t.Fatalf("sent %+v", m)
	}
	if len(f.st.audit) != 1 || f.st.audit[0].Event != auth.AuditResetSent {
		t.Fatalf("audit %+v", f.st.audit)
	}
}

func TestResetRequestResolverFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Resolver = resolver{err: errors.New("database down")} })
	id := f.st.add(auth.Mail{Kind: auth.MailResetRequest, To: "a@example.org"}, f.clock.Now())
	f.drain(t)
	if m := f.st.get(id); m.State != auth.MailPending || m.Attempts != 1 || !strings.Contains(m.LastError, "database down") {
		t.Fatalf("after a failed resolution: %+v", m)
	}
	if f.tr.calls != 0 {
		t.Fatal("a reset request was sent")
	}
}

func TestRunWakeAndStop(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Poll = time.Hour; c.Batch = 2; c.Now = time.Now })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.s.Run(ctx) }()

	// Five messages, then one Wake: full batches loop without waiting.
	for range 5 {
		f.st.add(auth.Mail{Kind: auth.MailNotice, To: "a@example.org", Text: "x\n"}, time.Now())
	}
	f.s.Wake()
	f.s.Wake() // never blocks
	waitFor(t, func() bool { return len(f.tr.sentIDs()) == 5 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestRunSurvivesStoreErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Poll = 5 * time.Millisecond; c.Now = time.Now })
	f.st.claimErr, f.st.claimFail = errors.New("connection refused"), 3
	f.st.add(auth.Mail{Kind: auth.MailNotice, To: "a@example.org", Text: "x\n"}, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = f.s.Run(ctx) }()
	waitFor(t, func() bool { return len(f.tr.sentIDs()) == 1 })
	if n := f.logs.Count("outbox: claiming due messages failed; trying again at the next poll"); n != 3 {
		t.Errorf("claim errors logged %d times, want 3", n)
	}
	if err := New(Config{Store: f.st, Transport: f.tr, Log: f.s.c.Log}).Drain(ctx); err != nil {
		t.Errorf("Drain: %v", err)
	}
	f.st.claimErr, f.st.claimFail = errors.New("boom"), 1
	if err := f.s.Drain(ctx); err == nil {
		t.Error("Drain hid a store error")
	}
}

// value reads a counter's or a gauge's value.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
