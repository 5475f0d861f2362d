package throttle

import (
	"testing"
	"time"
)

func TestBackoffAndReset(t *testing.T) {
	now := time.Unix(1_000, 0)
	th := NewMemory(Policy{AccountFree: 3, AddressFree: 10, BaseDelay: time.Second, MaxDelay: time.Minute, Forget: time.Hour}, func() time.Time { return now })
	for range 3 {
		if w := th.Wait("alice", "1.1.1.1"); w != 0 {
			t.Fatalf("waiting %s within the free failures", w)
		}
		th.Failed("alice", "1.1.1.1")
	}
	if w := th.Wait("alice", "1.1.1.1"); w != 0 {
		t.Fatalf("wait %s after 3 free failures", w)
	}
	th.Failed("alice", "1.1.1.1") // the 4th: 1 s
	if w := th.Wait("alice", "1.1.1.1"); w != time.Second {
		t.Fatalf("wait %s, want 1s", w)
	}
	th.Failed("alice", "1.1.1.1") // the 5th: 2 s
	if w := th.Wait("alice", "1.1.1.1"); w != 2*time.Second {
		t.Fatalf("wait %s, want 2s (doubling)", w)
	}
	if w := th.Wait("alice", "2.2.2.2"); w != 0 {
		t.Fatalf("another address is locked out: %s", w)
	}
	for range 20 {
		th.Failed("alice", "1.1.1.1")
	}
	if w := th.Wait("alice", "1.1.1.1"); w != time.Minute {
		t.Fatalf("wait %s, want the 1m cap", w)
	}
	now = now.Add(time.Minute)
	th.Succeeded("alice", "1.1.1.1")
	if w := th.Wait("alice", "1.1.1.1"); w != 0 {
		t.Fatalf("wait %s after a success", w)
	}
}

func TestPerAddressLimit(t *testing.T) {
	now := time.Unix(1_000, 0)
	th := NewMemory(Policy{AccountFree: 100, AddressFree: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Forget: time.Hour}, func() time.Time { return now })
	for i := range 6 {
		th.Failed(string(rune('a'+i)), "9.9.9.9") // one guess each at many accounts
	}
	if w := th.Wait("zed", "9.9.9.9"); w != time.Second {
		t.Fatalf("spraying from one address: wait %s, want 1s", w)
	}
	if w := th.Wait("zed", "8.8.8.8"); w != 0 {
		t.Fatalf("another address waits %s", w)
	}
	now = now.Add(2 * time.Hour)
	if w := th.Wait("zed", "9.9.9.9"); w != 0 {
		t.Fatalf("counter not forgotten: %s", w)
	}
}
