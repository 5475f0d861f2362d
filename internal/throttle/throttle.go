// Package throttle slows down password guessing. Failures are counted per
// account and client address, and per client address; past a free number
// of failures each further one doubles the wait before the next attempt.
// Keying the account's counter by address means a guesser elsewhere can
// never lock the real user out.
package throttle

import (
	"sync"
	"time"
)

// Policy sets the limits.
type Policy struct {
	AccountFree int           // failures allowed per account and address before waiting
	AddressFree int           // failures allowed per address (all accounts) before waiting
	BaseDelay   time.Duration // the first wait; each further failure doubles it
	MaxDelay    time.Duration // the longest wait
	Forget      time.Duration // a counter idle this long starts again
}

// DefaultPolicy is documented in the README.
var DefaultPolicy = Policy{AccountFree: 5, AddressFree: 50, BaseDelay: time.Second, MaxDelay: 15 * time.Minute, Forget: time.Hour}

type counter struct {
	failures int
	until    time.Time // no attempt before this
	last     time.Time
}

// Memory keeps the counters in this process.
type Memory struct {
	p   Policy
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*counter
}

// NewMemory returns an in-process throttle; now may be nil.
func NewMemory(p Policy, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{p: p, now: now, m: map[string]*counter{}}
}

func accountKey(account, addr string) string { return "a\x00" + account + "\x00" + addr }
func addressKey(addr string) string          { return "i\x00" + addr }

// Wait returns how long the client must wait before trying this account
// again; 0 means go ahead.
func (t *Memory) Wait(account, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	return max(t.wait(accountKey(account, addr), now), t.wait(addressKey(addr), now))
}

func (t *Memory) wait(key string, now time.Time) time.Duration {
	c, ok := t.m[key]
	if !ok || now.Sub(c.last) > t.p.Forget {
		return 0
	}
	return max(0, c.until.Sub(now))
}

// Failed records a failed attempt.
func (t *Memory) Failed(account, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.fail(accountKey(account, addr), t.p.AccountFree, now)
	t.fail(addressKey(addr), t.p.AddressFree, now)
	if len(t.m) > 100_000 {
		t.sweep(now)
	}
}

func (t *Memory) fail(key string, free int, now time.Time) {
	c, ok := t.m[key]
	if !ok || now.Sub(c.last) > t.p.Forget {
		c = &counter{}
		t.m[key] = c
	}
	c.failures++
	c.last = now
	if over := c.failures - free; over > 0 {
		d := t.p.BaseDelay << min(over-1, 30)
		c.until = now.Add(min(d, t.p.MaxDelay))
	}
}

// Succeeded resets the account's counter for this address.
func (t *Memory) Succeeded(account, addr string) {
	t.mu.Lock()
	delete(t.m, accountKey(account, addr))
	t.mu.Unlock()
}

func (t *Memory) sweep(now time.Time) {
	for k, c := range t.m {
		if now.Sub(c.last) > t.p.Forget {
			delete(t.m, k)
		}
	}
}
