// Package ratelimit is Gatehouse's one rate limiter: named limits, each
// with a policy, counted per key (an address, an account, a session, a
// user) in this process ([Memory]), in Redis shared by every replica
// ([Redis]), or in Redis falling back on this process while Redis is down
// ([Failover]).
//
// A limit is one of two kinds:
//
//   - a failure counter (Backoff > 0): after Free events, each further
//     event makes the key wait Backoff, then twice that, and so on up to
//     MaxBackoff; the count is forgotten after Window without an event.
//     Login failures, password changes and second-factor guesses use it.
//   - a plain rate (Backoff == 0): at most Free events per Window, the
//     window starting at the first event; past them the key waits until
//     the window ends. Sign-ins per address, refreshes per session, email
//     sends per address use it.
//
// Declaring a limit is one line:
//
//	var emailPerMinute = ratelimit.Limit{Name: "email-minute", Free: 1, Window: time.Minute}
//
// and using it is Take for a plain rate (check and count in one step, all
// keys or none):
//
//	wait, err := l.Take(ctx, emailPerMinute.Key(addr), emailPerHour.Key(addr))
//
// or Wait, then Hit on failure and Reset on success, for a failure counter.
//
// Keys are hashed to a fixed size (SHA-256, truncated to 128 bits; keyed
// with a per-process random key in memory), so a client's input never
// sets how much memory a counter takes, and Redis keys name no account.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// Limit is a named policy. The zero Backoff makes it a plain rate; see the
// package documentation.
type Limit struct {
	// Name tells the limit's counters apart from every other limit's; it
	// is part of every key (keep it short: letters, digits, '-').
	Name string
	// Free is how many events are allowed before waits begin (failure
	// counter) or per window (plain rate).
	Free int
	// Window is how long a failure counter lives after its last event, or
	// how long a plain rate's window lasts from its first event.
	Window time.Duration
	// Backoff is the first wait after the free events, doubling with each
	// further event up to MaxBackoff; zero makes a plain rate.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Key is one counter of a limit: the limit and what it counts for.
type Key struct {
	Limit Limit
	ID    string
}

// Key returns l's counter for id (an address, an account, ...).
func (l Limit) Key(id string) Key { return Key{Limit: l, ID: id} }

// Validate reports a policy that cannot work.
func (l Limit) Validate() error {
	switch {
	case l.Name == "":
		return errors.New("ratelimit: a limit needs a name")
	case l.Free < 0:
		return fmt.Errorf("ratelimit: limit %s: Free %d is negative", l.Name, l.Free)
	case l.Window < time.Millisecond:
		return fmt.Errorf("ratelimit: limit %s: Window %v is under 1ms", l.Name, l.Window)
	case l.Backoff < 0:
		return fmt.Errorf("ratelimit: limit %s: Backoff %v is negative", l.Name, l.Backoff)
	case l.Backoff == 0 && l.Free == 0:
		return fmt.Errorf("ratelimit: limit %s: a plain rate needs Free of at least 1", l.Name)
	case l.Backoff > 0 && (l.MaxBackoff < l.Backoff || l.MaxBackoff > l.Window):
		return fmt.Errorf("ratelimit: limit %s: MaxBackoff %v must be within Backoff %v and Window %v", l.Name, l.MaxBackoff, l.Backoff, l.Window)
	}
	return nil
}

func (l Limit) isRate() bool { return l.Backoff <= 0 }

// delay is the wait after the over-th event past the free ones (over ≥ 1):
// Backoff doubled over-1 times, at most MaxBackoff.
func (l Limit) delay(over int64) time.Duration {
	d := l.Backoff
	for i := int64(1); i < over && d < l.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, l.MaxBackoff)
}

// digest is a key's fixed-size name.
type digest [16]byte

// hashKey is SHA-256 of salt, the limit's name and the id, truncated.
func hashKey(salt []byte, k Key) digest {
	buf := make([]byte, 0, 128) // on the stack for the usual short ids
	buf = append(buf, salt...)
	buf = append(buf, k.Limit.Name...)
	buf = append(buf, 0)
	buf = append(buf, k.ID...)
	sum := sha256.Sum256(buf)
	return digest(sum[:16])
}

// Taker counts plain rates (Memory, Redis, Failover).
type Taker interface {
	Take(ctx context.Context, keys ...Key) (time.Duration, error)
}

// PerMinute is a plain rate of n events a minute; n of 0 turns it off
// (see Allow).
func PerMinute(name string, n int) Limit {
	return Limit{Name: name, Free: n, Window: time.Minute}
}

// Allow takes one event from each key whose limit is on (Free > 0) and
// returns how long the caller must wait when one is spent (0: go on). A
// nil Taker, or one that fails, allows: a limiter outage never refuses a
// request (Failover falls back on local counters before that).
func Allow(ctx context.Context, t Taker, keys ...Key) time.Duration {
	if t == nil {
		return 0
	}
	on := keys[:0:0]
	for _, k := range keys {
		if k.Limit.Free > 0 {
			on = append(on, k)
		}
	}
	if len(on) == 0 {
		return 0
	}
	wait, err := t.Take(ctx, on...)
	if err != nil {
		return 0
	}
	return wait
}
