package revocation

import (
	"crypto/rand"
	"encoding/base64"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// millionBudget is the heap that 1 000 000 revoked token ids may hold.
const millionBudget = 150 << 20

// heldBy returns the live heap that n revoked token ids (as the signer
// makes them: 16 random bytes, base64url) add to an empty Set.
func heldBy(n int) (set *Set, bytes uint64) {
	before := liveHeap()
	s := NewSet(nil)
	exp := time.Now().Add(time.Hour)
	b := make([]byte, 16)
	for range n {
		rand.Read(b)
		s.Add(auth.Revocation{Kind: auth.RevokedToken, ID: base64.RawURLEncoding.EncodeToString(b), ExpiresAt: exp})
	}
	after := liveHeap()
	return s, after - min(before, after)
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMillionRevokedTokenIDs checks the memory budget of the denylist.
func TestMillionRevokedTokenIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a Set with 1 000 000 ids")
	}
	s, held := heldBy(1_000_000)
	if _, n := s.Len(); n != 1_000_000 {
		t.Fatalf("Len = %d", n)
	}
	t.Logf("1 000 000 revoked token ids hold %.1f MiB (%.0f bytes each)", float64(held)/(1<<20), float64(held)/1e6)
	if held > millionBudget {
		t.Errorf("1 000 000 revoked token ids hold %d MiB, budget %d MiB", held>>20, millionBudget>>20)
	}
	runtime.KeepAlive(s)
}

// BenchmarkMillionRevoked reports the heap held by 1 000 000 revoked token
// ids: go test -run '^$' -bench MillionRevoked -benchtime 1x ./internal/revocation/
func BenchmarkMillionRevoked(b *testing.B) {
	var held uint64
	for b.Loop() {
		var s *Set
		s, held = heldBy(1_000_000)
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(held)/(1<<20), "MiB-held")
	b.ReportMetric(float64(held)/1e6, "B/id")
}
