// Package throttle slows down password guessing, on the limits of package
// ratelimit. Failures are counted three ways:
//
//   - per account and client address: against guessing one account's
//     password from one place;
//   - per client address, all accounts: against trying a few passwords on
//     many accounts;
//   - per account, all addresses: against guessing one account's password
//     from many places (NIST SP 800-63B §5.2.2 caps failed attempts per
//     account at 100). Past its free failures, only addresses that have
//     never logged in to the account wait: an address that has logged in
//     to it successfully keeps its own allowance, so a guesser elsewhere
//     cannot lock the real user out.
//
// Past the free failures each further one doubles the wait before the
// next attempt. Nothing is ever locked, only slowed.
package throttle

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse/gatehouse/internal/clientaddr"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// DefaultKnownFor is how long an address stays known to an account after a
// successful login from it, when Policy.KnownFor is zero.
const DefaultKnownFor = 30 * 24 * time.Hour

// Policy sets the limits; the defaults and their settings are in package
// config.
type Policy struct {
	AccountFree     int           // failures allowed per account and address before waiting
	AddressFree     int           // failures allowed per address (all accounts) before waiting
	AccountWideFree int           // failures allowed per account (all addresses) before unknown addresses wait; 0 turns the limit off
	BaseDelay       time.Duration // the first wait; each further failure doubles it
	MaxDelay        time.Duration // the longest wait
	Forget          time.Duration // a counter idle this long starts again
	KnownFor        time.Duration // a successful login's address stays known this long (DefaultKnownFor if 0)
}

// Limiter is what the throttle needs of a ratelimit store
// (ratelimit.Memory, Redis or Failover).
type Limiter interface {
	Wait(ctx context.Context, keys ...ratelimit.Key) (time.Duration, error)
	Hit(ctx context.Context, keys ...ratelimit.Key) (time.Duration, error)
	Reset(ctx context.Context, keys ...ratelimit.Key) error
	Seen(ctx context.Context, k ratelimit.Key) (bool, error)
}

// Throttle counts failed logins on a Limiter. It is what package sessions
// (or login) consumes: Wait before checking a password, Failed after a
// wrong one, Succeeded after a right one.
type Throttle struct {
	l                             Limiter
	pair, address, account, known ratelimit.Limit
	accountWide                   bool
}

// New returns a Throttle over l with the limits of p.
func New(l Limiter, p Policy) (*Throttle, error) {
	if p.KnownFor <= 0 {
		p.KnownFor = DefaultKnownFor
	}
	failures := func(name string, free int) ratelimit.Limit {
		return ratelimit.Limit{Name: name, Free: free, Window: p.Forget, Backoff: p.BaseDelay, MaxBackoff: p.MaxDelay}
	}
	t := &Throttle{
		l:       l,
		pair:    failures("login-pair", p.AccountFree),
		address: failures("login-address", p.AddressFree),
		account: failures("login-account", p.AccountWideFree),
		// A counter that never makes anyone wait, for its existence: an
		// address that has logged in to the account within KnownFor.
		known:       ratelimit.Limit{Name: "login-known", Free: math.MaxInt32, Window: p.KnownFor, Backoff: time.Millisecond, MaxBackoff: time.Millisecond},
		accountWide: p.AccountWideFree > 0,
	}
	for _, l := range []ratelimit.Limit{t.pair, t.address, t.account, t.known} {
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("throttle: %w", err)
		}
	}
	return t, nil
}

// pairID is what the per-account-and-address counters are kept for.
func pairID(account, addr string) string { return account + "\x00" + clientaddr.Network(addr) }

// Wait returns how long the client must wait before trying this account
// again; 0 means go ahead.
func (t *Throttle) Wait(ctx context.Context, account, addr string) (time.Duration, error) {
	pair := pairID(account, addr)
	wait, err := t.l.Wait(ctx, t.pair.Key(pair), t.address.Key(clientaddr.Network(addr)))
	if err != nil || !t.accountWide {
		return wait, err
	}
	wide, err := t.l.Wait(ctx, t.account.Key(account))
	if err != nil || wide <= wait {
		return wait, err
	}
	known, err := t.l.Seen(ctx, t.known.Key(pair))
	if err != nil || known {
		return wait, err
	}
	return wide, nil
}

// Failed records a failed attempt.
func (t *Throttle) Failed(ctx context.Context, account, addr string) error {
	keys := []ratelimit.Key{t.pair.Key(pairID(account, addr)), t.address.Key(clientaddr.Network(addr))}
	if t.accountWide {
		keys = append(keys, t.account.Key(account))
	}
	_, err := t.l.Hit(ctx, keys...)
	return err
}

// Succeeded resets the account's counter for this address and remembers
// the address as one that has logged in to the account. The address's
// counter (a guesser could log in to an account of its own to clear it)
// and the account-wide counter (the real user's login does not stop a
// guesser elsewhere) are left as they are.
func (t *Throttle) Succeeded(ctx context.Context, account, addr string) error {
	pair := pairID(account, addr)
	if err := t.l.Reset(ctx, t.pair.Key(pair)); err != nil {
		return err
	}
	_, err := t.l.Hit(ctx, t.known.Key(pair))
	return err
}
