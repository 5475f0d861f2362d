package app

import (
	"context"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/auth"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

const feedSecret = "b7c41e9d03fa68e2a5d1c0f4e8b92a7d36c5f1e0"

// pageMeter counts the feed's answers.
type pageMeter struct {
	next     http.RoundTripper
	mu       sync.Mutex
	requests int
}

func (m *pageMeter) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := m.next.RoundTrip(r)
	if err == nil {
		m.mu.Lock()
		m.requests++
		m.mu.Unlock()
	}
	return res, err
}

// TestRevocationsFeedPaged: 5,000 revocations come in bounded pages, the
// poller follows them all, and a configured secret is required.
func TestRevocationsFeedPaged(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.RevocationsToken = feedSecret
	e := start(t, cfg)
	ctx := context.Background()
	const total = 5000
	began := time.Now()
	for i := range total {
		if _, err := e.app.Store.RevokeToken(ctx, fmt.Sprintf("feed-%d", i), time.Now().Add(time.Hour), auth.Effects{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d revocations recorded in %v", total, time.Since(began))

	expect401(t, e.do("GET", "/auth/revocations", "", nil), "Not authenticated")
	expect401(t, e.do("GET", "/auth/revocations", feedSecret[:len(feedSecret)-1], nil), "Could not validate credentials")
	expect401(t, e.do("GET", "/auth/revocations", feedSecret+"0", nil), "Could not validate credentials")
	expect401(t, e.do("GET", "/auth/revocations", "", nil, "Authorization", "Basic "+feedSecret), "Not authenticated")

	first := e.do("GET", "/auth/revocations", feedSecret, nil)
	expect(t, first, 200, "")
	page := first.json(t)
	if n := len(page["revocations"].([]any)); n != 1000 {
		t.Fatalf("the first page has %d entries, want the default bound 1000", n)
	}
	if len(first.body) > 128<<10 {
		t.Fatalf("a page of 1000 is %d bytes", len(first.body))
	}
	if page["next_cursor"] == nil || page["next_cursor"] != page["cursor"] {
		t.Fatalf("the first page of %d: next_cursor %v, cursor %v", total, page["next_cursor"], page["cursor"])
	}
	small := e.do("GET", "/auth/revocations?limit=10&cursor="+fmt.Sprint(page["cursor"]), feedSecret, nil).json(t)
	if got := small["revocations"].([]any); len(got) != 10 || got[0].(map[string]any)["id"] != "feed-1000" {
		t.Fatalf("a page of 10 after the first: %v", got)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "cursor=-1"} {
		expect(t, e.invalid("a limit or cursor out of range").do("GET", "/auth/revocations?"+q, feedSecret, nil), 422, "")
	}

	meter := &pageMeter{next: e.srv.Client().Transport}
	client := &http.Client{Transport: meter}
	quiet := verify.WithPollerLogger(slog.New(slog.DiscardHandler))
	if err := verify.NewRevocationPoller(e.srv.URL, client, quiet).Sync(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a poller without the secret: %v", err)
	}
	p := verify.NewRevocationPoller(e.srv.URL, client, verify.WithFeedToken(feedSecret))
	meter.requests = 0
	began = time.Now()
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("the poller loaded %d revocations in %d pages in %v; a page of 1000 is %d bytes", total, meter.requests, time.Since(began), len(first.body))
	for i := range total {
		if !p.Revoked(fmt.Sprintf("feed-%d", i), "") {
			t.Fatalf("feed-%d is missing from the poller", i)
		}
	}
	if meter.requests != 5 {
		t.Fatalf("%d pages for %d revocations, want 5", meter.requests, total)
	}
	// Caught up: one more revocation costs one small page.
	if _, err := e.app.Store.RevokeToken(ctx, "feed-late", time.Now().Add(time.Hour), auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Sync(ctx); err != nil || !p.Revoked("feed-late", "") || meter.requests != 6 {
		t.Fatalf("after one more revocation: %v, %d requests", err, meter.requests)
	}
}
