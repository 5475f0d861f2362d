package ratelimit

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestMemoryFailureCounter(t *testing.T) {
	checkFailureCounter(t, NewMemory(0, newClock().Now), 0)
}

func TestMemoryRate(t *testing.T) {
	checkRate(t, NewMemory(0, newClock().Now), 0)
}

func TestMemoryConcurrentTake(t *testing.T) {
	checkConcurrentTake(t, NewMemory(0, nil))
}

func TestMemoryForgets(t *testing.T) {
	c := newClock()
	m := NewMemory(0, c.Now)
	k := failures.Key("alice")
	hit(t, m, 4, k)
	expectWait(t, m, time.Second, 0, k)
	c.Advance(59 * time.Minute)
	hit(t, m, 1, k) // within the hour: counted on, 2 s
	expectWait(t, m, 2*time.Second, 0, k)
	c.Advance(61 * time.Minute)
	expectWait(t, m, 0, 0, k)
	if seen, _ := m.Seen(t.Context(), k); seen {
		t.Error("Seen after the window")
	}
	hit(t, m, 3, k) // a new count: free again
	expectWait(t, m, 0, 0, k)

	// A plain rate's window runs from its first event, not its last.
	r := perMin.Key("bob")
	hit(t, m, 1, r)
	c.Advance(50 * time.Second)
	expectWait(t, m, 10*time.Second, 0, r)
	c.Advance(10 * time.Second)
	if w, _ := m.Take(t.Context(), r); w != 0 {
		t.Fatalf("Take after the window: %v", w)
	}
}

// TestMemoryBound puts a million distinct keys, and random operations,
// through a small Memory: it never holds more than its capacity, and its
// shards' lists stay consistent with their maps.
func TestMemoryBound(t *testing.T) {
	c := newClock()
	m := NewMemory(4096, c.Now)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	for i := range n {
		k := failures.Key(strconv.Itoa(i))
		switch rng.IntN(10) {
		case 0:
			_ = m.Reset(t.Context(), k)
		case 1:
			_, _ = m.Take(t.Context(), perMin.Key(strconv.Itoa(rng.IntN(i+1))), k)
		case 2:
			c.Advance(time.Duration(rng.IntN(int(time.Minute))))
		default:
			_, _ = m.Hit(t.Context(), k)
		}
		if i%50_000 == 0 {
			checkShards(t, m)
		}
	}
	checkShards(t, m)
	if m.Len() > m.Capacity() || m.Capacity() != 4096 {
		t.Fatalf("Len %d, Capacity %d", m.Len(), m.Capacity())
	}
}

func checkShards(t *testing.T, m *Memory) {
	t.Helper()
	for si := range m.shards {
		s := &m.shards[si]
		s.mu.Lock()
		if len(s.ents) > s.cap || len(s.idx) > s.cap {
			t.Fatalf("shard %d: %d entries, %d indexed, cap %d", si, len(s.ents), len(s.idx), s.cap)
		}
		seen := 0
		prev := int32(-1)
		for i := s.head; i >= 0; i = s.ents[i].next {
			if s.ents[i].prev != prev {
				t.Fatalf("shard %d: broken list at %d", si, i)
			}
			prev = i
			seen++
			if seen > len(s.ents) {
				t.Fatalf("shard %d: cycle", si)
			}
		}
		if seen != len(s.ents) || prev != s.tail {
			t.Fatalf("shard %d: list of %d, %d entries", si, seen, len(s.ents))
		}
		for d, i := range s.idx {
			if s.ents[i].key != d {
				t.Fatalf("shard %d: index points at another key", si)
			}
		}
		s.mu.Unlock()
	}
}

// TestMemoryEvictsLeastRecentlyTouched fills a shard and checks that the
// counter touched last survives while the oldest goes.
func TestMemoryEvictsLeastRecentlyTouched(t *testing.T) {
	m := NewMemory(shardCount*4, nil)
	// Find six ids that land in one shard.
	var ids []string
	var target *shard
	for i := 0; len(ids) < 6; i++ {
		id := strconv.Itoa(i)
		s := m.shard(hashKey(m.salt[:], failures.Key(id)))
		if target == nil {
			target = s
		}
		if s == target {
			ids = append(ids, id)
		}
	}
	for _, id := range ids[:4] { // the shard is full
		hit(t, m, 4, failures.Key(id))
	}
	hit(t, m, 1, failures.Key(ids[0])) // ids[0] is now the most recent, ids[1] the least
	hit(t, m, 1, failures.Key(ids[4])) // evicts ids[1]
	hit(t, m, 1, failures.Key(ids[5])) // evicts ids[2]
	for i, want := range []bool{true, false, false, true, true, true} {
		if seen, _ := m.Seen(t.Context(), failures.Key(ids[i])); seen != want {
			t.Errorf("key %d: Seen = %v, want %v", i, seen, want)
		}
	}
}

// TestMemoryHugeKeysBounded hits a Memory with many distinct 64 KiB ids:
// what it keeps is a fixed size per counter, and bounded in number.
func TestMemoryHugeKeysBounded(t *testing.T) {
	m := NewMemory(1024, nil)
	before := heapInUse()
	big := strings.Repeat("x", 64<<10)
	for i := range 3000 {
		hit(t, m, 1, failures.Key(big+strconv.Itoa(i)))
	}
	grown := int64(heapInUse()) - int64(before)
	// 3000 ids of 64 KiB are 190 MiB; 1024 counters are well under 1 MiB.
	if grown > 4<<20 {
		t.Fatalf("heap grew by %d bytes for 1024 counters", grown)
	}
	runtime.KeepAlive(m)
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func TestLimitValidate(t *testing.T) {
	for _, l := range []Limit{failures, perHour, perMin} {
		if err := l.Validate(); err != nil {
			t.Errorf("%s: %v", l.Name, err)
		}
	}
	for _, l := range []Limit{
		{Free: 1, Window: time.Minute},
		{Name: "x", Free: -1, Window: time.Minute},
		{Name: "x", Free: 1},
		{Name: "x", Free: 0, Window: time.Minute},
		{Name: "x", Free: 1, Window: time.Minute, Backoff: time.Second},
		{Name: "x", Free: 1, Window: time.Minute, Backoff: time.Second, MaxBackoff: time.Hour},
		{Name: "x", Free: 1, Window: time.Minute, Backoff: -time.Second},
	} {
		if l.Validate() == nil {
			t.Errorf("%+v validated", l)
		}
	}
}

func TestDelayDoesNotOverflow(t *testing.T) {
	l := Limit{Backoff: time.Hour, MaxBackoff: 24 * time.Hour}
	for over, want := range map[int64]time.Duration{1: time.Hour, 2: 2 * time.Hour, 5: 16 * time.Hour, 6: 24 * time.Hour, 1 << 40: 24 * time.Hour} {
		if got := l.delay(over); got != want {
			t.Errorf("delay(%d) = %v, want %v", over, got, want)
		}
	}
}
