package throttle

import (
	"context"
	"sync"
	"time"
)

type counter struct {
	failures int
	until    time.Time // no attempt before this
	last     time.Time
}

// Memory keeps the counters in this process. Its methods never fail.
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

func accountKey(account, addr string) string { return "a\x00" + account + "\x00" + network(addr) }
func addressKey(addr string) string          { return "i\x00" + network(addr) }

// Wait returns how long the client must wait before trying this account
// again; 0 means go ahead.
func (t *Memory) Wait(_ context.Context, account, addr string) (time.Duration, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	return max(t.wait(accountKey(account, addr), now), t.wait(addressKey(addr), now)), nil
}

func (t *Memory) wait(key string, now time.Time) time.Duration {
	c, ok := t.m[key]
	if !ok || now.Sub(c.last) > t.p.Forget {
		return 0
	}
	return max(0, c.until.Sub(now))
}

// Failed records a failed attempt.
func (t *Memory) Failed(_ context.Context, account, addr string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.fail(accountKey(account, addr), t.p.AccountFree, now)
	t.fail(addressKey(addr), t.p.AddressFree, now)
	if len(t.m) > 100_000 {
		t.sweep(now)
	}
	return nil
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
		c.until = now.Add(t.p.delay(over))
	}
}

// Succeeded resets the account's counter for this address.
func (t *Memory) Succeeded(_ context.Context, account, addr string) error {
	t.mu.Lock()
	delete(t.m, accountKey(account, addr))
	t.mu.Unlock()
	return nil
}

func (t *Memory) sweep(now time.Time) {
	for k, c := range t.m {
		if now.Sub(c.last) > t.p.Forget {
			delete(t.m, k)
		}
	}
}
