package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RevocationPoller keeps a copy of Gatehouse's denylist by polling the
// issuer's /auth/revocations endpoint, so that a resource service rejects a
// logged-out token within one interval without a call per request. Use it
// as Config.Revocations. It also works with the Redis channel's data: see
// Add.
type RevocationPoller struct {
	url    string
	client *http.Client

	mu       sync.RWMutex
	sessions map[string]int64 // sid → expiry, unix seconds
	tokens   map[string]int64 // jti → expiry
	cursor   int64
	synced   bool
}

var _ RevocationChecker = (*RevocationPoller)(nil)

// NewRevocationPoller returns a poller for issuer; client may be nil. Call
// Sync once before serving (it loads the whole list), then Run.
func NewRevocationPoller(issuer string, client *http.Client) *RevocationPoller {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &RevocationPoller{
		url: strings.TrimSuffix(issuer, "/") + "/auth/revocations", client: client,
		sessions: map[string]int64{}, tokens: map[string]int64{},
	}
}

// Revoked implements RevocationChecker.
func (p *RevocationPoller) Revoked(jti, sid string) bool {
	p.mu.RLock()
	_, s := p.sessions[sid]
	_, t := p.tokens[jti]
	p.mu.RUnlock()
	return s || t
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
	now := time.Now().Unix()
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

// Sync fetches what was revoked since the last call (everything on the
// first call).
func (p *RevocationPoller) Sync(ctx context.Context) error {
	p.mu.RLock()
	url := p.url
	if p.synced {
		url = fmt.Sprintf("%s?cursor=%d", p.url, p.cursor)
	}
	p.mu.RUnlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("verify: poll revocations: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("verify: poll revocations: %s", res.Status)
	}
	var page struct {
		Revocations []Revocation `json:"revocations"`
		Cursor      int64        `json:"cursor"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 256<<20)).Decode(&page); err != nil {
		return fmt.Errorf("verify: poll revocations: %w", err)
	}
	p.Add(page.Revocations...)
	p.mu.Lock()
	p.cursor, p.synced = page.Cursor, true
	p.mu.Unlock()
	return nil
}

// Run polls every interval until ctx ends, forgetting expired entries as it
// goes. Failed polls are retried; the last known list stays in use.
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
	now := time.Now().Unix()
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
