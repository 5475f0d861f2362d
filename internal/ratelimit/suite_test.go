package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// store is what Memory, Redis and Failover all offer.
type store interface {
	Wait(ctx context.Context, keys ...Key) (time.Duration, error)
	Hit(ctx context.Context, keys ...Key) (time.Duration, error)
	Take(ctx context.Context, keys ...Key) (time.Duration, error)
	Reset(ctx context.Context, keys ...Key) error
	Seen(ctx context.Context, k Key) (bool, error)
}

var (
	failures = Limit{Name: "test-failures", Free: 3, Window: time.Hour, Backoff: time.Second, MaxBackoff: time.Minute}
	perHour  = Limit{Name: "test-hour", Free: 5, Window: time.Hour}
	perMin   = Limit{Name: "test-minute", Free: 1, Window: time.Minute}
)

// expectWait checks the wait of keys: want exactly, or up to slack less
// (a shared store's clock runs while the test does).
func expectWait(t *testing.T, s store, want, slack time.Duration, keys ...Key) {
	t.Helper()
	got, err := s.Wait(t.Context(), keys...)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	checkWait(t, "Wait", got, want, slack)
}

func checkWait(t *testing.T, what string, got, want, slack time.Duration) {
	t.Helper()
	if got > want || got < want-slack || (want == 0 && got != 0) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func hit(t *testing.T, s store, n int, keys ...Key) time.Duration {
	t.Helper()
	var w time.Duration
	for range n {
		var err error
		if w, err = s.Hit(t.Context(), keys...); err != nil {
			t.Fatalf("Hit: %v", err)
		}
	}
	return w
}

// checkFailureCounter: free failures, doubling waits up to the cap, other
// keys unaffected, reset.
func checkFailureCounter(t *testing.T, s store, slack time.Duration) {
	k := failures.Key("alice|192.0.2.1")
	for range 3 {
		expectWait(t, s, 0, 0, k)
		checkWait(t, "Hit", hit(t, s, 1, k), 0, 0)
	}
	checkWait(t, "Hit", hit(t, s, 1, k), time.Second, 0) // the 4th: 1 s
	expectWait(t, s, time.Second, slack, k)
	hit(t, s, 1, k) // 2 s
	expectWait(t, s, 2*time.Second, slack, k)
	hit(t, s, 1, k) // 4 s
	expectWait(t, s, 4*time.Second, slack, k)
	expectWait(t, s, 0, 0, failures.Key("alice|198.51.100.2"))
	expectWait(t, s, 0, 0, perHour.Key("alice|192.0.2.1")) // same id, another limit
	hit(t, s, 4, k)                                        // the 10th: 64 s, over the cap
	expectWait(t, s, time.Minute, slack, k)
	if seen, _ := s.Seen(t.Context(), k); !seen {
		t.Error("Seen = false for a live counter")
	}
	if err := s.Reset(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	expectWait(t, s, 0, 0, k)
	if seen, _ := s.Seen(t.Context(), k); seen {
		t.Error("Seen = true after Reset")
	}
	hit(t, s, 3, k) // free again after the reset
	expectWait(t, s, 0, 0, k)
}

// checkRate: Free events per window through Take, all keys or none.
func checkRate(t *testing.T, s store, slack time.Duration) {
	addr := "203.0.113.9"
	for i := range 5 {
		w, err := s.Take(t.Context(), perHour.Key(addr))
		if err != nil || w != 0 {
			t.Fatalf("Take %d = %v, %v; want allowed", i+1, w, err)
		}
	}
	w, _ := s.Take(t.Context(), perHour.Key(addr))
	checkWait(t, "the 6th Take", w, time.Hour, slack)
	expectWait(t, s, time.Hour, slack, perHour.Key(addr))

	// Two limits on one key, 1/min and 5/h: the minute refuses the second.
	other := "203.0.113.10"
	if w, _ := s.Take(t.Context(), perMin.Key(other), perHour.Key(other)); w != 0 {
		t.Fatalf("first Take refused: %v", w)
	}
	w, _ = s.Take(t.Context(), perMin.Key(other), perHour.Key(other))
	checkWait(t, "second Take within the minute", w, time.Minute, slack)
	// Refused as a whole: the hour counted one event, not two.
	for range 4 {
		if w, _ := s.Take(t.Context(), perHour.Key(other)); w != 0 {
			t.Fatalf("the hour limit counted a refused Take: %v", w)
		}
	}
	w, _ = s.Take(t.Context(), perHour.Key(other))
	checkWait(t, "the hour's 6th", w, time.Hour, slack)
}

// checkConcurrentTake takes from many goroutines at once, through several
// stores sharing one place (replicas), and checks that exactly Free are
// allowed.
func checkConcurrentTake(t *testing.T, replicas ...store) {
	l := Limit{Name: "test-concurrent", Free: 37, Window: time.Hour}
	const n = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			w, err := replicas[i%len(replicas)].Take(context.Background(), l.Key("x"))
			if err != nil {
				t.Error(err)
			}
			if w == 0 {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	close(gate)
	wg.Wait()
	if allowed != l.Free {
		t.Fatalf("%d of %d concurrent Takes allowed, want exactly %d", allowed, n, l.Free)
	}
}

// checkAgainst runs the same failures through s and a Memory and checks
// the waits agree: the Lua script and the Go code compute the same.
func checkAgainst(t *testing.T, s store, slack time.Duration) {
	l := Limit{Name: "test-agree", Free: 2, Window: time.Hour, Backoff: 300 * time.Millisecond, MaxBackoff: 10 * time.Second}
	now := time.Unix(1000, 0)
	m := NewMemory(0, func() time.Time { return now })
	for i := range 10 {
		got := hit(t, s, 1, l.Key("dave"))
		want := hit(t, m, 1, l.Key("dave"))
		t.Run(fmt.Sprintf("failure %d", i+1), func(t *testing.T) {
			checkWait(t, "Hit", got, want, 0)
			expectWait(t, s, want, slack, l.Key("dave"))
		})
	}
}
