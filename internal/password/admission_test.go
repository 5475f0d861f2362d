package password

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFairShareUnderFlood floods the hasher from one address with 64
// concurrent logins (admission, then a hash, as a login does), more than
// the queue takes within the wait, while another address logs in 20
// times: at least 90% of the other address's logins are admitted and
// served. Without the fair share, most are refused.
func TestFairShareUnderFlood(t *testing.T) {
	p := Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32} // a few ms a hash
	h := newTestHasher(t, p, 2, 250*time.Millisecond)                       // the default GATEHOUSE_LOGIN_WAIT
	enc, err := h.Hash(context.Background(), "secret123")
	if err != nil {
		t.Fatal(err)
	}
	login := func(ctx context.Context) error {
		if err := h.AdmitFor(ctx); err != nil {
			return err
		}
		ok, _, err := h.Verify(ctx, "secret123", enc)
		if err == nil && !ok {
			err = errors.New("wrong password")
		}
		return err
	}

	ctx, stop := context.WithCancel(context.Background())
	flooder := WithClient(ctx, "192.0.2.66")
	var served, refused atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for ctx.Err() == nil {
				switch err := login(flooder); {
				case err == nil:
					served.Add(1)
				case errors.Is(err, ErrBusy):
					refused.Add(1)
					time.Sleep(time.Millisecond) // as a client would, at least
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // the flood is under way

	other := WithClient(context.Background(), "198.51.100.7")
	ok := 0
	for range 20 {
		if err := login(other); err == nil {
			ok++
		} else if !errors.Is(err, ErrBusy) {
			t.Error(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()
	t.Logf("other address: %d of 20 served; flood: %d served, %d refused", ok, served.Load(), refused.Load())
	if ok < 18 {
		t.Errorf("%d of 20 logins from another address served during the flood, want at least 18", ok)
	}
	if refused.Load() == 0 {
		t.Error("the flood was never refused: the test did not overload the hasher")
	}
	if n := len(h.slots.clients); n != 0 {
		t.Errorf("%d clients left after every call returned", n)
	}
}

// TestFreedSlotGoesToTheClientHoldingFewest holds both slots for one
// address with more of its calls waiting: a slot freed goes to another
// address's waiter, even though it came last.
func TestFreedSlotGoesToTheClientHoldingFewest(t *testing.T) {
	h := newTestHasher(t, testParams(), 2, time.Minute)
	a := WithClient(context.Background(), "192.0.2.1")
	held1, err := h.acquire(a)
	if err != nil {
		t.Fatal(err)
	}
	held2, err := h.acquire(a)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 3)
	wait := func(ctx context.Context, name string, n int) {
		go func() {
			c, err := h.acquire(ctx)
			if err != nil {
				got <- "error " + err.Error()
				return
			}
			got <- name
			<-ctx.Done()
			h.release(c)
		}()
		for deadline := time.Now().Add(5 * time.Second); h.Waiting() < n && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	actx, cancelA := context.WithCancel(a)
	bctx, cancelB := context.WithCancel(WithClient(context.Background(), "2001:db8:1:2:ffff::9"))
	defer cancelA()
	defer cancelB()
	wait(actx, "a", 1)
	wait(actx, "a", 2)
	wait(bctx, "b", 3)
	h.release(held1)
	if first := <-got; first != "b" {
		t.Fatalf("the freed slot went to %s, want b (holding none)", first)
	}
	h.release(held2)
	if second := <-got; second != "a" {
		t.Fatalf("the next slot went to %s, want a", second)
	}
	cancelA() // the waiting a gives up; the holding ones release
	cancelB()
	for deadline := time.Now().Add(5 * time.Second); (h.InUse() != 0 || h.Waiting() != 0) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if h.InUse() != 0 || h.Waiting() != 0 {
		t.Fatalf("InUse %d, Waiting %d after every call gave up", h.InUse(), h.Waiting())
	}
}

// TestAdmitForCountsOnlyThoseServedFirst: with one address's queue full,
// Admit for that address refuses, and for another admits.
func TestAdmitForCountsOnlyThoseServedFirst(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 4*time.Second)
	h.hashTime.Store(int64(time.Second)) // as if each hash took a second
	a := WithClient(context.Background(), "192.0.2.1")
	held, err := h.acquire(a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(a)
	done := make(chan struct{}, 2)
	for i := range 2 { // (0+1)·1s and (1+1)·1s fit in half the wait
		go func() {
			if c, err := h.acquire(ctx); err == nil {
				h.release(c)
			}
			done <- struct{}{}
		}()
		for deadline := time.Now().Add(5 * time.Second); h.Waiting() < i+1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	if err := h.AdmitFor(a); !errors.Is(err, ErrBusy) {
		t.Errorf("AdmitFor the flooding address: %v, want ErrBusy", err)
	}
	// Another address would be served after at most one of a's waiters.
	if err := h.AdmitFor(WithClient(context.Background(), "198.51.100.7")); err != nil {
		t.Errorf("AdmitFor another address: %v, want nil", err)
	}
	cancel()
	<-done
	<-done
	h.release(held)
}
