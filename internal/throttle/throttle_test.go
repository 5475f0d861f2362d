package throttle

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// throttler is what every implementation offers.
type throttler interface {
	Wait(ctx context.Context, account, addr string) (time.Duration, error)
	Failed(ctx context.Context, account, addr string) error
	Succeeded(ctx context.Context, account, addr string) error
}

// suitePolicy is the policy checkBackoff and checkPerAddress expect.
var suitePolicy = Policy{AccountFree: 3, AddressFree: 12, BaseDelay: time.Second, MaxDelay: time.Minute, Forget: time.Hour}

// expectWait checks th's wait for account at addr: want exactly, or up to
// slack less (a shared store's clock runs while the test does).
func expectWait(t *testing.T, th throttler, account, addr string, want, slack time.Duration) {
	t.Helper()
	got, err := th.Wait(t.Context(), account, addr)
	if err != nil {
		t.Fatalf("Wait(%s, %s): %v", account, addr, err)
	}
	if got > want || got < want-slack || (want == 0 && got != 0) {
		t.Fatalf("Wait(%s, %s) = %v, want %v", account, addr, got, want)
	}
}

func fail(t *testing.T, th throttler, account, addr string, n int) {
	t.Helper()
	for range n {
		if err := th.Failed(t.Context(), account, addr); err != nil {
			t.Fatalf("Failed: %v", err)
		}
	}
}

// checkBackoff runs under suitePolicy: free failures, then doubling waits
// up to the cap, another address unaffected, reset on success.
func checkBackoff(t *testing.T, th throttler, slack time.Duration) {
	for range 3 {
		expectWait(t, th, "alice", "192.0.2.1", 0, 0)
		fail(t, th, "alice", "192.0.2.1", 1)
	}
	expectWait(t, th, "alice", "192.0.2.1", 0, 0)
	fail(t, th, "alice", "192.0.2.1", 1) // the 4th: 1 s
	expectWait(t, th, "alice", "192.0.2.1", time.Second, slack)
	fail(t, th, "alice", "192.0.2.1", 1) // the 5th: 2 s
	expectWait(t, th, "alice", "192.0.2.1", 2*time.Second, slack)
	fail(t, th, "alice", "192.0.2.1", 1) // the 6th: 4 s
	expectWait(t, th, "alice", "192.0.2.1", 4*time.Second, slack)
	expectWait(t, th, "alice", "198.51.100.2", 0, 0) // the real user elsewhere
	expectWait(t, th, "bob", "192.0.2.1", 0, 0)      // 6 failures from here, under the address limit
	fail(t, th, "alice", "192.0.2.1", 4)             // the 10th: 64 s, over the cap
	expectWait(t, th, "alice", "192.0.2.1", time.Minute, slack)
	if err := th.Succeeded(t.Context(), "alice", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	expectWait(t, th, "alice", "192.0.2.1", 0, 0)
	fail(t, th, "alice", "192.0.2.1", 2) // free again after the reset (12 from here: the address limit)
	expectWait(t, th, "alice", "192.0.2.1", 0, 0)
}

// checkPerAddress runs under suitePolicy: one guess at each of many
// accounts from one address hits the address limit.
func checkPerAddress(t *testing.T, th throttler, slack time.Duration) {
	for i := range 13 {
		fail(t, th, string(rune('a'+i)), "203.0.113.9", 1)
	}
	expectWait(t, th, "zed", "203.0.113.9", time.Second, slack)
	expectWait(t, th, "zed", "203.0.113.10", 0, 0)
	// A success resets the account's counter, not the address's: a guesser
	// cannot clear its address by logging in to an account of its own.
	if err := th.Succeeded(t.Context(), "zed", "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	expectWait(t, th, "zed", "203.0.113.9", time.Second, slack)
}

// checkIPv6 checks that the addresses of one /64 share their counters.
func checkIPv6(t *testing.T, th throttler, slack time.Duration) {
	fail(t, th, "carol", "2001:db8:1:2::1", 2)
	fail(t, th, "carol", "2001:db8:1:2:ffff::9", 2)
	expectWait(t, th, "carol", "2001:db8:1:2::77", time.Second, slack)
	expectWait(t, th, "carol", "2001:db8:1:3::1", 0, 0) // another /64
}

func fakeClock() (*time.Time, func() time.Time) {
	now := time.Unix(1_000, 0)
	return &now, func() time.Time { return now }
}

// newThrottle returns a Throttle with p over l, failing the test on a bad
// policy.
func newThrottle(t testing.TB, l Limiter, p Policy) *Throttle {
	t.Helper()
	th, err := New(l, p)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// memory returns a Throttle with p in this process, on clock.
func memory(t testing.TB, p Policy, clock func() time.Time) *Throttle {
	return newThrottle(t, ratelimit.NewMemory(0, clock), p)
}

func TestMemoryBackoffAndReset(t *testing.T) {
	_, clock := fakeClock()
	checkBackoff(t, memory(t, suitePolicy, clock), 0)
}

func TestMemoryPerAddressLimit(t *testing.T) {
	_, clock := fakeClock()
	checkPerAddress(t, memory(t, suitePolicy, clock), 0)
}

func TestMemoryIPv6SharesThe64(t *testing.T) {
	_, clock := fakeClock()
	checkIPv6(t, memory(t, suitePolicy, clock), 0)
}

func TestMemoryForgets(t *testing.T) {
	now, clock := fakeClock()
	th := memory(t, suitePolicy, clock)
	fail(t, th, "alice", "192.0.2.1", 4)
	expectWait(t, th, "alice", "192.0.2.1", time.Second, 0)
	*now = now.Add(59 * time.Minute)
	fail(t, th, "alice", "192.0.2.1", 1) // within the hour: counted on, 2 s
	expectWait(t, th, "alice", "192.0.2.1", 2*time.Second, 0)
	*now = now.Add(61 * time.Minute)
	expectWait(t, th, "alice", "192.0.2.1", 0, 0)
	fail(t, th, "alice", "192.0.2.1", 3) // a new count: free again
	expectWait(t, th, "alice", "192.0.2.1", 0, 0)
}

// accountWidePolicy is the default policy: 5 per account and address, 50
// per address, 100 per account.
var accountWidePolicy = Policy{AccountFree: 5, AddressFree: 50, AccountWideFree: 100, BaseDelay: time.Second, MaxDelay: 15 * time.Minute, Forget: time.Hour}

// checkAccountWide guesses alice's password from 20 places, 10 IPv4
// addresses and 10 IPv6 /64s (several addresses of each /64), through two
// throttles sharing one store (replicas), then checks that every address
// that never logged in to alice waits, doubling, while the real user's
// address does not, and other accounts are unaffected.
func checkAccountWide(t *testing.T, a, b throttler, slack time.Duration) {
	home := "198.51.100.7"
	if err := a.Succeeded(t.Context(), "alice", home); err != nil { // the real user, before the attack
		t.Fatal(err)
	}
	var addrs []string
	for i := range 10 {
		addrs = append(addrs, fmt.Sprintf("203.0.113.%d", i+1))
	}
	for i := range 10 {
		addrs = append(addrs, fmt.Sprintf("2001:db8:0:%x::1", i+1))
	}
	for i, addr := range addrs {
		for j := range 5 {
			th := []throttler{a, b}[j%2]
			if strings.Contains(addr, ":") {
				addr = fmt.Sprintf("2001:db8:0:%x::%x", i-9, j+1) // another address of the same /64
			}
			expectWait(t, th, "alice", addr, 0, 0)
			fail(t, th, "alice", addr, 1)
		}
	}
	// 100 failures: all free. The 101st, from a new address, is let through
	// and makes every unknown address wait.
	expectWait(t, a, "alice", "192.0.2.200", 0, 0)
	fail(t, a, "alice", "192.0.2.200", 1)
	for _, th := range []throttler{a, b} {
		expectWait(t, th, "alice", "192.0.2.201", time.Second, slack)
		expectWait(t, th, "alice", "2001:db8:ffff:1::1", time.Second, slack) // a fresh /64
		expectWait(t, th, "alice", home, 0, 0)                               // the real user's address
		expectWait(t, th, "bob", "192.0.2.201", 0, 0)                        // another account
	}
	// A failure from the known address counts too (its own allowance is 5):
	// the next wait doubles for everyone else.
	fail(t, b, "alice", home, 1)
	expectWait(t, a, "alice", home, 0, 0)
	expectWait(t, a, "alice", "192.0.2.201", 2*time.Second, slack)
	// The real user's login does not clear the account-wide count.
	if err := a.Succeeded(t.Context(), "alice", home); err != nil {
		t.Fatal(err)
	}
	expectWait(t, b, "alice", "192.0.2.201", 2*time.Second, slack)
	expectWait(t, b, "alice", home, 0, 0)
	// The known address still has its own per-pair limit.
	fail(t, a, "alice", home, 6)
	expectWait(t, b, "alice", home, time.Second, slack)
}

func TestMemoryAccountWide(t *testing.T) {
	_, clock := fakeClock()
	th := memory(t, accountWidePolicy, clock)
	checkAccountWide(t, th, th, 0)
}

// TestMemoryAccountWideOff checks that AccountWideFree 0 turns the limit
// off: 20 addresses × 5 guesses, no wait anywhere.
func TestMemoryAccountWideOff(t *testing.T) {
	_, clock := fakeClock()
	p := accountWidePolicy
	p.AccountWideFree = 0
	th := memory(t, p, clock)
	for i := range 40 {
		fail(t, th, "alice", fmt.Sprintf("203.0.113.%d", i+1), 5)
	}
	expectWait(t, th, "alice", "192.0.2.1", 0, 0)
}

// TestMemoryKnownAddressForgotten checks that a known address is known
// for KnownFor only.
func TestMemoryKnownAddressForgotten(t *testing.T) {
	now, clock := fakeClock()
	p := accountWidePolicy
	p.AccountWideFree, p.KnownFor = 2, 2*time.Hour
	th := memory(t, p, clock)
	if err := th.Succeeded(t.Context(), "alice", "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(90 * time.Minute)
	fail(t, th, "alice", "203.0.113.1", 3)
	expectWait(t, th, "alice", "198.51.100.7", 0, 0)
	*now = now.Add(31 * time.Minute)                 // 2 h 1 min since the login; failures 31 min old
	expectWait(t, th, "alice", "198.51.100.7", 0, 0) // the wait (1 s) is long over
	fail(t, th, "alice", "203.0.113.1", 1)
	expectWait(t, th, "alice", "198.51.100.7", 2*time.Second, 0) // no longer known
}

// TestMemoryHugeUsernamesBounded is issue 11's item 1: failed logins with
// huge usernames from a few addresses must not keep the usernames. 300
// failures with 256 KiB usernames from 6 addresses grew the heap by about
// 80 MB when counters were keyed by the raw username.
func TestMemoryHugeUsernamesBounded(t *testing.T) {
	_, clock := fakeClock()
	th := memory(t, accountWidePolicy, clock)
	base := strings.Repeat("u", 256<<10)
	before := heapInUse()
	for i := range 300 {
		fail(t, th, base+strconv.Itoa(i), fmt.Sprintf("192.0.2.%d", i%6), 1)
	}
	grown := int64(heapInUse()) - int64(before)
	t.Logf("heap grew by %d bytes after 300 failures with 256 KiB usernames", grown)
	if grown > 4<<20 {
		t.Fatalf("heap grew by %d bytes: the throttle keeps what clients send", grown)
	}
	runtime.KeepAlive(th)
}

// TestMemoryCountersBounded sends failures for many distinct usernames:
// the counters kept never exceed the store's capacity.
func TestMemoryCountersBounded(t *testing.T) {
	m := ratelimit.NewMemory(2048, nil)
	th := newThrottle(t, m, accountWidePolicy)
	for i := range 50_000 {
		fail(t, th, "user"+strconv.Itoa(i), fmt.Sprintf("2001:db8:%x::1", i%1000), 1)
	}
	if m.Len() > m.Capacity() {
		t.Fatalf("%d counters kept, capacity %d", m.Len(), m.Capacity())
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
