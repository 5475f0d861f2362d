package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrRevocationsStale: the revocation list has not been synced for longer
// than the poller's MaxStaleness, so it can no longer vouch that a token
// is not revoked. Verify reports it together with ErrRevoked.
var ErrRevocationsStale = errors.New("verify: revocation list too stale")

// maxFeedPageBytes bounds one answer of /auth/revocations. A paged answer
// is far smaller; the bound is large for servers that do not page.
const maxFeedPageBytes = 256 << 20

// RevocationPoller keeps a copy of Gatehouse's denylist by polling the
// issuer's /auth/revocations endpoint, so that a resource service rejects a
// logged-out token within one interval without a call per request. Use it
// as Config.Revocations. It also works with the Redis channel's data: see
// Add.
//
// # When the issuer is unreachable
//
// A failed sync keeps the last known list, logs one warning for the whole
// streak of failures and one line when syncing works again. Meanwhile the
// list ages: a token revoked after the last sync is still accepted.
// Staleness and LastSync tell how old the list is (export Staleness as a
// metric: see Staleness).
//
// Whether to fail open or closed is the service's decision. An access token
// lives at most the issuer's access TTL (GATEHOUSE_ACCESS_TTL, 30 minutes
// by default), so a list older than that has missed revocations of tokens
// that are still valid. A service for which accepting a revoked token is
// worse than refusing every token (payments, administration) should fail
// closed: WithMaxStaleness(d), with d well under the access TTL (a few
// minutes with a one-second interval), makes Revoked report every token as
// revoked, and Verify fail with ErrRevoked and ErrRevocationsStale, once
// the list is older than d, and before the first successful sync. Without
// it the poller fails open: tokens keep being checked against the last
// known list, however old.
type RevocationPoller struct {
	url      string
	client   *http.Client
	token    string
	maxStale time.Duration
	pageSize int
	now      func() time.Time
	log      *slog.Logger
	created  time.Time

	syncMu sync.Mutex // one Sync at a time

	mu       sync.RWMutex
	sessions map[string]int64 // sid → expiry, unix seconds
	tokens   map[string]int64 // jti → expiry
	cursor   int64
	started  bool      // cursor comes from the feed
	lastSync time.Time // of the last Sync that caught up
	failing  time.Time // when the current streak of failed syncs began
}

var _ RevocationChecker = (*RevocationPoller)(nil)

// A PollerOption configures a RevocationPoller.
type PollerOption func(*RevocationPoller)

// WithFeedToken sends "Authorization: Bearer secret" with every request,
// for an issuer that sets GATEHOUSE_REVOCATIONS_TOKEN. The secret is sent
// as is: use an https issuer, or a loopback or private network.
func WithFeedToken(secret string) PollerOption {
	return func(p *RevocationPoller) { p.token = secret }
}

// WithMaxStaleness makes the poller fail closed: once the list has not been
// synced for longer than d (and before the first successful sync), Revoked
// reports every token as revoked. See RevocationPoller for choosing d.
// 0 (the default) fails open.
func WithMaxStaleness(d time.Duration) PollerOption {
	return func(p *RevocationPoller) { p.maxStale = d }
}

// WithPageSize asks the feed for pages of at most n entries (the issuer's
// default, 1000, when 0; the issuer caps it).
func WithPageSize(n int) PollerOption {
	return func(p *RevocationPoller) { p.pageSize = n }
}

// WithPollerLogger sets where sync failures are logged (slog.Default()
// when not set).
func WithPollerLogger(log *slog.Logger) PollerOption {
	return func(p *RevocationPoller) { p.log = log }
}

// WithPollerClock sets the poller's clock (time.Now when not set).
func WithPollerClock(now func() time.Time) PollerOption {
	return func(p *RevocationPoller) { p.now = now }
}

// NewRevocationPoller returns a poller for issuer; client may be nil. Call
// Sync once before serving (it loads the whole list, page by page), then
// Run.
func NewRevocationPoller(issuer string, client *http.Client, opts ...PollerOption) *RevocationPoller {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	p := &RevocationPoller{
		url: strings.TrimSuffix(issuer, "/") + "/auth/revocations", client: client,
		now: time.Now, log: slog.Default(),
		sessions: map[string]int64{}, tokens: map[string]int64{},
	}
	for _, opt := range opts {
		opt(p)
	}
	p.created = p.now()
	return p
}

// Revoked implements RevocationChecker. With WithMaxStaleness, it reports
// every token as revoked while the list is too stale (see CheckFresh).
func (p *RevocationPoller) Revoked(jti, sid string) bool {
	if p.CheckFresh() != nil {
		return true
	}
	p.mu.RLock()
	_, s := p.sessions[sid]
	_, t := p.tokens[jti]
	p.mu.RUnlock()
	return s || t
}

// CheckFresh returns an error matching ErrRevocationsStale when the poller
// fails closed (WithMaxStaleness) and the list is older than allowed; nil
// otherwise. Verify calls it to tell a stale list from a revoked token.
func (p *RevocationPoller) CheckFresh() error {
	if p.maxStale <= 0 {
		return nil
	}
	if age := p.Staleness(); age > p.maxStale {
		return fmt.Errorf("%w: last synced %v ago, at most %v allowed", ErrRevocationsStale, age.Round(time.Second), p.maxStale)
	}
	return nil
}

// LastSync returns when a Sync last caught up with the issuer's list; the
// zero time before the first.
func (p *RevocationPoller) LastSync() time.Time {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.lastSync
}

// Staleness returns how long ago a Sync last caught up with the issuer's
// list (before the first, how long ago the poller was made). Revocations
// made since may be missing from the list. To export it as a metric with
// the Prometheus client:
//
//	prometheus.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
//		Name: "revocations_staleness_seconds",
//		Help: "Seconds since the revocation list was last synced.",
//	}, func() float64 { return p.Staleness().Seconds() }))
func (p *RevocationPoller) Staleness() time.Duration {
	p.mu.RLock()
	since := p.lastSync
	p.mu.RUnlock()
	if since.IsZero() {
		since = p.created
	}
	return max(p.now().Sub(since), 0)
}

// Revocation is one entry of the denylist as Gatehouse publishes it.
type Revocation struct {
	Kind string `json:"kind"` // "token" (ID is a jti) or "session" (ID is a sid)
	ID   string `json:"id"`
	Exp  int64  `json:"exp"` // unix seconds after which it no longer matters
}

// Add records revocations learnt another way (for example from Gatehouse's
// Redis channel, whose messages are JSON arrays of Revocation).
func (p *RevocationPoller) Add(recs ...Revocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now().Unix()
	for _, r := range recs {
		if r.Exp < now {
			continue
		}
		if r.Kind == "session" {
			p.sessions[r.ID] = r.Exp
		} else {
			p.tokens[r.ID] = r.Exp
		}
	}
}

// feedPage is one answer of /auth/revocations. NextCursor is set when more
// entries follow at once; an issuer that does not page never sets it.
type feedPage struct {
	Revocations []Revocation `json:"revocations"`
	Cursor      int64        `json:"cursor"`
	NextCursor  *int64       `json:"next_cursor"`
}

// Sync fetches what was revoked since the last call (everything on the
// first call), following the feed's pages until it is caught up. Pages
// already read are kept when a later one fails; the next Sync goes on
// from there. A failure is logged (once per streak) and returned.
func (p *RevocationPoller) Sync(ctx context.Context) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	err := p.sync(ctx)
	if err == nil || ctx.Err() == nil { // not a failure: the caller stopped
		p.record(err)
	}
	return err
}

func (p *RevocationPoller) sync(ctx context.Context) error {
	for {
		p.mu.RLock()
		cursor, started := p.cursor, p.started
		p.mu.RUnlock()
		page, err := p.fetchPage(ctx, cursor, started)
		if err != nil {
			return err
		}
		next := page.Cursor
		if page.NextCursor != nil {
			next = *page.NextCursor
		}
		if started && next < cursor || page.NextCursor != nil && next <= cursor {
			return fmt.Errorf("verify: poll revocations: the feed does not move on from cursor %d", cursor)
		}
		p.Add(page.Revocations...)
		p.mu.Lock()
		p.cursor, p.started = next, true
		p.mu.Unlock()
		if page.NextCursor == nil {
			return nil
		}
	}
}

// fetchPage reads one page of the feed: after cursor when started, else
// from the beginning.
func (p *RevocationPoller) fetchPage(ctx context.Context, cursor int64, started bool) (*feedPage, error) {
	q := url.Values{}
	if started {
		q.Set("cursor", strconv.FormatInt(cursor, 10))
	}
	if p.pageSize > 0 {
		q.Set("limit", strconv.Itoa(p.pageSize))
	}
	u := p.url
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	res, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("verify: poll revocations: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("verify: poll revocations: %s", res.Status)
	}
	var page feedPage
	if err := json.NewDecoder(io.LimitReader(res.Body, maxFeedPageBytes)).Decode(&page); err != nil {
		return nil, fmt.Errorf("verify: poll revocations: %w", err)
	}
	return &page, nil
}

// record notes the outcome of a Sync, logging the start and the end of a
// streak of failures.
func (p *RevocationPoller) record(err error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err == nil:
		p.lastSync = now
		if !p.failing.IsZero() {
			p.log.Info("revocation sync recovered", "url", p.url, "failing_for", now.Sub(p.failing).Round(time.Millisecond))
			p.failing = time.Time{}
		}
	case p.failing.IsZero():
		p.failing = now
		args := []any{"url", p.url, "err", err}
		if !p.lastSync.IsZero() {
			args = append(args, "last_sync", p.lastSync)
		}
		p.log.Warn("revocation sync failed; keeping the last known list", args...)
	}
}

// Run polls every interval until ctx ends, forgetting expired entries as it
// goes. Failed polls are logged and retried; the last known list stays in
// use (or, with WithMaxStaleness, stops vouching for tokens once too old).
func (p *RevocationPoller) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = p.Sync(ctx)
			p.expire()
		}
	}
}

func (p *RevocationPoller) expire() {
	now := p.now().Unix()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range []map[string]int64{p.sessions, p.tokens} {
		for id, exp := range m {
			if exp < now {
				delete(m, id)
			}
		}
	}
}
