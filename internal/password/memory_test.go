package password

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestHashReusesWorkingMemory checks that hashes with the Hasher's own
// parameters run in kept memory: after the first, a hash allocates next
// to nothing on the Go heap and starts no collection, and a hash with a
// larger memory cost (a hash made before the cost was lowered) still
// verifies, in memory of its own.
func TestHashReusesWorkingMemory(t *testing.T) {
	p := DefaultParams
	p.Memory = 8 << 10 // 8 MiB: large enough to need a collection if it were allocated
	h := newTestHasher(t, p, 1, time.Second)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "secret123")
	if err != nil {
		t.Fatal(err)
	}
	if n := h.memory.kept(); n != 1 {
		t.Fatalf("%d working memories kept after a hash, want 1", n)
	}
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	assertVerify(t, h, "secret123", enc, true, false)
	if _, err := h.Hash(ctx, "another one"); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&b)
	if n := b.TotalAlloc - a.TotalAlloc; n > 1<<20 {
		t.Errorf("two hashes in kept memory allocated %d bytes on the heap", n)
	}
	if b.NumGC != a.NumGC && b.NumForcedGC != a.NumForcedGC {
		t.Errorf("hashes in kept memory forced a collection")
	}

	bigger := p
	bigger.Memory *= 2
	old := newTestHasher(t, bigger, 1, time.Second)
	oldEnc, err := old.Hash(ctx, "secret123")
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&a)
	assertVerify(t, h, "secret123", oldEnc, true, true)
	runtime.ReadMemStats(&b)
	if n := b.TotalAlloc - a.TotalAlloc; n < uint64(bigger.Memory)<<10 {
		t.Errorf("a hash larger than the kept memory allocated only %d bytes", n)
	}
	if n := h.memory.kept(); n != 1 {
		t.Errorf("%d working memories kept, want 1", n)
	}
}

// TestWorkingMemoryPerSlot checks that concurrent hashes each get their
// own memory (the results stay right) and that no more are kept than
// there are slots.
func TestWorkingMemoryPerSlot(t *testing.T) {
	p := testParams()
	p.Memory = 1024
	h := newTestHasher(t, p, 3, time.Minute)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			pw := string(rune('a' + i))
			enc, err := h.Hash(ctx, pw)
			if err != nil {
				t.Error(err)
				return
			}
			assertVerify(t, h, pw, enc, true, false)
			assertVerify(t, h, pw+"x", enc, false, false)
		})
	}
	wg.Wait()
	if n := h.memory.kept(); n < 1 || n > 3 {
		t.Errorf("%d working memories kept with 3 slots", n)
	}
}

// TestWorkingMemoryReleasedWhenIdle checks that the kept memory is
// released once no hash has run for the idle time, and not while hashes
// keep coming.
func TestWorkingMemoryReleasedWhenIdle(t *testing.T) {
	h := newTestHasher(t, testParams(), 2, time.Second)
	h.memory.idle = 200 * time.Millisecond
	ctx := context.Background()
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		if _, err := h.Hash(ctx, "secret123"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.memory.kept(); n != 1 {
		t.Fatalf("%d working memories kept while hashing, want 1", n)
	}
	for start := time.Now(); h.memory.kept() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("working memory still kept 5 s after the last hash")
		}
	}
	if _, err := h.Hash(ctx, "secret123"); err != nil { // maps memory again
		t.Fatal(err)
	}
	if n := h.memory.kept(); n != 1 {
		t.Errorf("%d working memories kept after hashing again, want 1", n)
	}
}
