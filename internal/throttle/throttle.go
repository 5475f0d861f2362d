// Package throttle slows down password guessing. Failures are counted per
// account and client address, and per client address; past a free number
// of failures each further one doubles the wait before the next attempt.
// Keying the account's counter by address means a guesser elsewhere can
// never lock the real user out.
//
// [Memory] keeps the counters in this process. [Redis] keeps them in Redis,
// shared by every replica, and [Failover] uses Redis while it answers and
// this process's counters while it does not.
package throttle

import (
	"net/netip"
	"time"
)

// Policy sets the limits; the defaults and their settings are in package
// config.
type Policy struct {
	AccountFree int           // failures allowed per account and address before waiting
	AddressFree int           // failures allowed per address (all accounts) before waiting
	BaseDelay   time.Duration // the first wait; each further failure doubles it
	MaxDelay    time.Duration // the longest wait
	Forget      time.Duration // a counter idle this long starts again
}

// delay is the wait after the over-th failure past the free ones (over ≥ 1):
// BaseDelay doubled over-1 times, at most MaxDelay.
func (p Policy) delay(over int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < over && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// network is what an address's counters are kept for: an IPv4 address
// itself, but the /64 of an IPv6 address, because one subscriber usually
// holds a whole /64 and could otherwise take a fresh address per guess.
// Anything that is not an IP address is used as it is.
func network(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
