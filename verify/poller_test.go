package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// feedServer serves /auth/revocations as Gatehouse does: pages of at most
// 1000 entries after a cursor (the entry's position), next_cursor while
// more follow.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	entries  []Revocation
	token    string // required bearer secret, when set
	fail     bool
	requests atomic.Int32
	limits   []int // the limit of every page served
}

func newFeedServer(t *testing.T) *feedServer {
	f := &feedServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/auth/revocations" {
		http.NotFound(w, r)
		return
	}
	if f.fail {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	cursor, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	limit := 1000
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && l > 0 && l < limit {
		limit = l
	}
	f.limits = append(f.limits, limit)
	end := min(cursor+limit, len(f.entries))
	page := map[string]any{"revocations": f.entries[cursor:end], "cursor": end, "next_cursor": nil}
	if end < len(f.entries) {
		page["next_cursor"] = end
	}
	json.NewEncoder(w).Encode(page)
}

func (f *feedServer) add(n int, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		id := fmt.Sprintf("%s-%d", kind, len(f.entries))
		f.entries = append(f.entries, Revocation{Kind: kind, ID: id, Exp: testNow.Add(time.Hour).Unix()})
	}
}

func (f *feedServer) set(fn func(f *feedServer)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func TestPollerFollowsPages(t *testing.T) {
	feed := newFeedServer(t)
	feed.add(2500, "token")
	feed.add(10, "session")
	p := NewRevocationPoller(feed.URL, nil, WithPollerClock(fakeNow))
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := feed.requests.Load(); n != 3 {
		t.Fatalf("%d requests for 2,510 entries, want 3 pages", n)
	}
	for i := range 2500 {
		if !p.Revoked(fmt.Sprintf("token-%d", i), "") {
			t.Fatalf("token-%d of page %d is missing", i, i/1000+1)
		}
	}
	if !p.Revoked("", "session-2509") || p.Revoked("token-x", "session-x") {
		t.Fatal("the last page is wrong")
	}
	// Caught up: the next Sync asks for what follows only.
	feed.add(1, "token")
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := feed.requests.Load(); n != 4 || !p.Revoked("token-2510", "") {
		t.Fatalf("%d requests; the new entry revoked: %v", n, p.Revoked("token-2510", ""))
	}
	// A smaller page size is asked for.
	small := NewRevocationPoller(feed.URL, nil, WithPollerClock(fakeNow), WithPageSize(100))
	if err := small.Sync(context.Background()); err != nil || !small.Revoked("token-2510", "") {
		t.Fatalf("paging by 100: %v", err)
	}
	feed.set(func(f *feedServer) {
		if l := f.limits[len(f.limits)-1]; l != 100 {
			t.Errorf("page limit %d, want 100", l)
		}
	})
}

// A feed that repeats its cursor would make Sync loop for ever.
func TestPollerStopsOnStuckCursor(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"revocations":[],"cursor":5,"next_cursor":5}`))
	}))
	defer srv.Close()
	p := NewRevocationPoller(srv.URL, nil, WithPollerLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Sync(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("a stuck cursor: %v (ctx %v)", err, ctx.Err())
	}
}

func TestPollerSendsFeedToken(t *testing.T) {
	feed := newFeedServer(t)
	feed.add(1, "token")
	feed.set(func(f *feedServer) { f.token = "the-feed-secret" })
	quiet := WithPollerLogger(slog.New(slog.DiscardHandler))
	if err := NewRevocationPoller(feed.URL, nil, quiet).Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without the secret: %v", err)
	}
	p := NewRevocationPoller(feed.URL, nil, quiet, WithFeedToken("the-feed-secret"), WithPollerClock(fakeNow))
	if err := p.Sync(context.Background()); err != nil || !p.Revoked("token-0", "") {
		t.Fatalf("with the secret: %v", err)
	}
}

// lockedBuffer collects log lines from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestPollerLogsFailureStreaks(t *testing.T) {
	feed := newFeedServer(t)
	feed.set(func(f *feedServer) { f.token = "s3cret-feed-token" })
	var logs lockedBuffer
	p := NewRevocationPoller(feed.URL, nil, WithFeedToken("s3cret-feed-token"), WithPollerLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ctx := context.Background()
	steps := []bool{true, false, false, false, true, true, false}
	for _, ok := range steps {
		feed.set(func(f *feedServer) { f.fail = !ok })
		if err := p.Sync(ctx); (err == nil) != ok {
			t.Fatalf("Sync with the feed up=%v: %v", ok, err)
		}
	}
	warns, infos := strings.Count(logs.String(), "level=WARN"), strings.Count(logs.String(), "level=INFO")
	if warns != 2 || infos != 1 {
		t.Fatalf("%d warnings and %d recoveries logged for two failure streaks, one ended; want 2 and 1:\n%s", warns, infos, logs.String())
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Fatal("the feed secret was logged")
	}
	// A Sync cut short by its own caller is not a failure of the feed.
	feed.set(func(f *feedServer) { f.fail = false })
	p.Sync(ctx)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Sync(cancelled); err == nil {
		t.Fatal("a cancelled Sync succeeded")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Fatalf("a cancelled Sync was logged as a failure:\n%s", logs.String())
	}
}

func TestPollerStaleness(t *testing.T) {
	feed := newFeedServer(t)
	clock := &testClock{now: testNow}
	p := NewRevocationPoller(feed.URL, nil, WithPollerClock(clock.Now), WithPollerLogger(slog.New(slog.DiscardHandler)))
	clock.Add(3 * time.Second)
	if got := p.Staleness(); got != 3*time.Second || !p.LastSync().IsZero() {
		t.Fatalf("before any sync: staleness %v, last sync %v", got, p.LastSync())
	}
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.Staleness(); got != 0 || !p.LastSync().Equal(clock.Now()) {
		t.Fatalf("just synced: staleness %v, last sync %v", got, p.LastSync())
	}
	feed.set(func(f *feedServer) { f.fail = true })
	clock.Add(time.Minute)
	p.Sync(context.Background())
	if got := p.Staleness(); got != time.Minute {
		t.Fatalf("after a failed sync: staleness %v, want 1m", got)
	}
}

// With WithMaxStaleness, a list too old to trust fails every token closed;
// without it, the last known list keeps being used.
func TestPollerMaxStaleness(t *testing.T) {
	f := loadFixture()
	feed := newFeedServer(t)
	feed.add(1, "token")
	clock := &testClock{now: testNow}
	quiet := WithPollerLogger(slog.New(slog.DiscardHandler))
	closed := NewRevocationPoller(feed.URL, nil, WithPollerClock(clock.Now), WithMaxStaleness(time.Minute), quiet)
	open := NewRevocationPoller(feed.URL, nil, WithPollerClock(clock.Now), quiet)
	verifier := func(p *RevocationPoller) *Verifier {
		v, err := New(context.Background(), Config{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{ES256}, KeySet: f.keys, Now: fakeNow, Revocations: p})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	vc, vo := verifier(closed), verifier(open)
	tok := mint(f.es, goodHeader(f.es), goodClaims())
	check := func(v *Verifier, wantStale bool, when string) {
		t.Helper()
		_, err := v.Verify(context.Background(), tok)
		if stale := errors.Is(err, ErrRevocationsStale); stale != wantStale || stale && !errors.Is(err, ErrRevoked) || !wantStale && err != nil {
			t.Fatalf("%s: %v, want stale=%v", when, err, wantStale)
		}
	}
	clock.Add(2 * time.Minute)
	check(vc, true, "fail closed, never synced")
	if !closed.Revoked("any", "any") {
		t.Fatal("Revoked vouches for a token before the first sync")
	}
	check(vo, false, "fail open, never synced")
	for _, p := range []*RevocationPoller{closed, open} {
		if err := p.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	check(vc, false, "fail closed, just synced")
	feed.set(func(f *feedServer) { f.fail = true })
	clock.Add(50 * time.Second)
	closed.Sync(context.Background())
	check(vc, false, "fail closed, 50 s stale")
	clock.Add(20 * time.Second)
	check(vc, true, "fail closed, 70 s stale")
	check(vo, false, "fail open, 70 s stale")
	if !open.Revoked("token-0", "") || open.Revoked("other", "") {
		t.Fatal("fail open lost the last known list")
	}
	feed.set(func(f *feedServer) { f.fail = false })
	closed.Sync(context.Background())
	check(vc, false, "fail closed, synced again")
}
