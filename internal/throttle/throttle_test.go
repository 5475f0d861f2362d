package throttle

import (
	"context"
	"testing"
	"time"
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

func TestMemoryBackoffAndReset(t *testing.T) {
	_, clock := fakeClock()
	checkBackoff(t, NewMemory(suitePolicy, clock), 0)
}

func TestMemoryPerAddressLimit(t *testing.T) {
	_, clock := fakeClock()
	checkPerAddress(t, NewMemory(suitePolicy, clock), 0)
}

func TestMemoryIPv6SharesThe64(t *testing.T) {
	_, clock := fakeClock()
	checkIPv6(t, NewMemory(suitePolicy, clock), 0)
}

func TestMemoryForgets(t *testing.T) {
	now, clock := fakeClock()
	th := NewMemory(suitePolicy, clock)
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

func TestDelayDoesNotOverflow(t *testing.T) {
	p := Policy{BaseDelay: time.Hour, MaxDelay: 24 * time.Hour}
	for over, want := range map[int]time.Duration{1: time.Hour, 2: 2 * time.Hour, 5: 16 * time.Hour, 6: 24 * time.Hour, 1 << 30: 24 * time.Hour} {
		if got := p.delay(over); got != want {
			t.Errorf("delay(%d) = %v, want %v", over, got, want)
		}
	}
}

func TestNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":              "192.0.2.1",
		"::ffff:192.0.2.1":       "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":   "2001:db8:1:2::/64",
		"fe80::1%eth0":           "fe80::/64",
		"not an address":         "not an address",
		"2001:db8::1:2:3:4:5:65": "2001:db8::1:2:3:4:5:65", // too many groups: not parsed
	} {
		if got := network(in); got != want {
			t.Errorf("network(%q) = %q, want %q", in, got, want)
		}
	}
}
