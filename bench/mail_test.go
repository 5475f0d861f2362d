package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/outbox"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func newSink(t *testing.T) *sink {
	t.Helper()
	sk, err := startSink(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sk.close)
	return sk
}

func TestSinkCountsMessagesByID(t *testing.T) {
	t.Parallel()
	sk := newSink(t)
	reached := sk.reset(3)
	if err := rawSMTP(sk.addr, 2, 2, "a"); err != nil { // a-0, a-1
		t.Fatal(err)
	}
	select {
	case <-reached:
		t.Fatal("reached after 2 of 3 messages")
	default:
	}
	if err := rawSMTP(sk.addr, 1, 1, "a"); err != nil { // a-0 again
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(5 * time.Second):
		t.Fatal("not reached after 3 messages")
	}
	c := sk.counts()
	if c.messages != 3 || c.distinct != 2 || c.duplicates != 1 || c.noID != 0 || c.reached.IsZero() {
		t.Errorf("counts %+v, want 3 messages, 2 distinct, 1 duplicate", c)
	}
	sk.reset(0)
	if c := sk.counts(); c.messages != 0 || c.distinct != 0 {
		t.Errorf("after reset: %+v", c)
	}
}

// The seeded rows are what the real store and sender read: all of them
// are claimed, delivered to the sink once each, and recorded as sent.
func TestSeededOutboxDrainsToSink(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "seed.db")
	st, err := sqlstore.Open(ctx, "sqlite:"+path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 40
	if err := seedOutbox(path, n, "seed"); err != nil {
		t.Fatal(err)
	}
	sk := newSink(t)
	reached := sk.reset(n)
	tr, err := mail.NewSMTP(sk.url(), "no-reply@localhost", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := outbox.New(outbox.Config{Store: st, Transport: tr}).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("the sink took %+v, want %d messages", sk.counts(), n)
	}
	if c := sk.counts(); c.distinct != n || c.duplicates != 0 {
		t.Errorf("sink %+v, want %d distinct messages", c, n)
	}
	if sent, err := countSent(path); err != nil || sent != n {
		t.Errorf("sent %d (%v), want %d", sent, err, n)
	}
}

// A server that stalls once is charged for every request that waited
// behind the stall, not only for the stalled one: latency counts from
// when each request was due.
func TestOpenLoadCountsFromDueTime(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 10 {
			time.Sleep(200 * time.Millisecond)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	start := time.Now()
	r := openLoad{method: "POST", url: srv.URL, body: func(int) string { return "{}" }, want: 202,
		rate: 200, d: 500 * time.Millisecond, conns: 1}.run()
	if r.sent != 100 || r.ok != 100 || r.other != 0 {
		t.Fatalf("sent %d, ok %d, other %d; want 100 sent and answered 202", r.sent, r.ok, r.other)
	}
	if el := time.Since(start); el < 490*time.Millisecond {
		t.Errorf("100 requests at 200/s took %s", el)
	}
	var slow int
	for _, l := range r.lat {
		if l > 50*time.Millisecond {
			slow++
		}
	}
	// About 30 requests were due during the stall's first 150 ms.
	if slow < 25 {
		t.Errorf("%d requests over 50 ms, want the ~30 due behind the stall: latency is not counted from the due time", slow)
	}
	if pct(r.lag, 0.9) < 10 {
		t.Errorf("p90 of due to sent %.1f ms: the requests behind the stall left late", pct(r.lag, 0.9))
	}
}

func TestOpenLoadHoldsItsRate(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	r := openLoad{method: "POST", url: srv.URL, body: func(int) string { return "{}" }, want: 202,
		rate: 400, d: 250 * time.Millisecond, conns: 4}.run()
	if r.sent != 100 || r.ok != 100 {
		t.Fatalf("sent %d, ok %d, want 100", r.sent, r.ok)
	}
	if r.elapsed < 245*time.Millisecond || r.elapsed > 600*time.Millisecond {
		t.Errorf("100 requests at 400/s took %s, want about 250 ms", r.elapsed)
	}
}

func TestBoundBaselinesComeWithTheirFigure(t *testing.T) {
	o := options{only: regexp.MustCompile(`sqlite/(outbox|me-backlog)`)}
	for id, want := range map[string]bool{
		"sqlite/outbox-send": true, "baseline/raw-smtp@sqlite": true, "baseline/me-no-backlog@sqlite": true,
		"baseline/raw-smtp@postgres": false, "baseline/bare@sqlite": false, "sqlite/me-one": false,
	} {
		if got := o.wants(id); got != want {
			t.Errorf("wants(%q) = %v, want %v", id, got, want)
		}
	}
	o.only = regexp.MustCompile(`baseline/raw-smtp`)
	if !o.wants("baseline/raw-smtp@sqlite") || o.wants("sqlite/outbox-send") {
		t.Error("-only naming the baseline alone")
	}
}

func TestEmailGoalsAndRatios(t *testing.T) {
	rs := []*Result{
		{ID: "sqlite/forgot-known", Median: Measure{P50ms: 1.2, P99ms: 4, Extra: map[string]float64{"max_ms": 9}}},
		{ID: "sqlite/forgot-unknown", Median: Measure{P50ms: 1, P99ms: 6}},
		{ID: "sqlite/outbox-send", Median: Measure{RPS: 300, Ops: 10000},
			Runs: []Measure{{RPS: 300, Extra: map[string]float64{"duplicates": 0}}, {RPS: 310, Extra: map[string]float64{"duplicates": 2}}, {RPS: 290}}},
		{ID: "baseline/raw-smtp@sqlite", Median: Measure{RPS: 600}, Runs: []Measure{{RPS: 600}, {RPS: 620}, {RPS: 580}}},
		{ID: "sqlite/me-backlog", Median: Measure{RPS: 30000}},
		{ID: "baseline/me-no-backlog@sqlite", Median: Measure{RPS: 31000}},
	}
	byName := map[string]Goal{}
	for _, g := range goals(rs) {
		byName[g.Name] = g
	}
	for name, met := range map[string]bool{
		"POST /auth/password/forgot at 200/s, known address: p99 (SQLite)":   true,
		"POST /auth/password/forgot at 200/s, unknown address: p99 (SQLite)": false,
		"outbox delivery rate (SQLite)":                                      true,
		"outbox: messages delivered twice (SQLite)":                          false, // one run of three had 2
		"GET /me during an outbox backlog ÷ with an empty outbox (SQLite)":   true,
	} {
		g, ok := byName[name]
		if !ok || g.Met != met {
			t.Errorf("goal %q: %+v (present %v), want met %v", name, g, ok, met)
		}
	}
	if g := byName["outbox: messages delivered twice (SQLite)"]; g.Value != 2 {
		t.Errorf("duplicates %v, want the sum over runs, 2", g.Value)
	}
	got := map[string]float64{}
	for _, r := range ratios(rs) {
		got[r.Name] = r.Value
	}
	if v := got["POST /auth/password/forgot p50, known ÷ unknown address (SQLite)"]; v < 1.199 || v > 1.201 {
		t.Errorf("known ÷ unknown %v, want 1.2", v)
	}
	if v := got["outbox delivery ÷ a plain go-mail loop to the same sink (SQLite)"]; v != 0.5 {
		t.Errorf("outbox ÷ raw %v, want the median of the paired runs, 0.5", v)
	}
	if len(got) != 2 {
		t.Errorf("ratios %v", got)
	}
	md := markdown(&Report{Results: rs, Goals: goals(rs), Ratios: ratios(rs)})
	for _, want := range []string{
		"### Ratios without a target",
		"| outbox delivery ÷ a plain go-mail loop to the same sink (SQLite) | 0.500× | median of runs paired",
		"SMTP sink in the harness's process",
		"GATEHOUSE_FORGOT_RATE=0 GATEHOUSE_MAIL_PER_ADDRESS_MINUTE=0 GATEHOUSE_MAIL_PER_ADDRESS_HOUR=0",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("BENCHMARKS.md section lacks %q", want)
		}
	}
	if md := markdown(&Report{}); strings.Contains(md, "SMTP sink") || strings.Contains(md, "Ratios without") {
		t.Error("a report without email figures speaks of them")
	}
}
