package password

import (
	"testing"
	"time"
)

// testParams are cheap parameters for tests where cost does not matter.
func testParams() Params {
	return Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func newTestHasher(t testing.TB, p Params, slots int, maxWait time.Duration) *Hasher {
	t.Helper()
	h, err := New(p, slots, maxWait)
	if err != nil {
		t.Fatalf("New(%+v): %v", p, err)
	}
	return h
}
