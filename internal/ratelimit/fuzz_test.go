package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

// FuzzMemory runs a sequence of operations, read from the input, on a
// Memory much smaller than the keys used: it never holds more than its
// capacity, its lists stay consistent, and no wait exceeds its limit's
// longest.
func FuzzMemory(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 1, 3, 200, 2, 3, 4, 5})
	f.Add([]byte("a fairly long seed that hits many keys and resets some of them"))
	f.Fuzz(func(t *testing.T, ops []byte) {
		c := newClock()
		m := NewMemory(shardCount*2, c.Now)
		limits := []Limit{failures, perMin, perHour}
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			l := limits[int(op>>2)%len(limits)]
			k := l.Key(strconv.Itoa(int(arg)))
			longest := l.Window
			if !l.isRate() {
				longest = l.MaxBackoff
			}
			var w time.Duration
			switch op & 3 {
			case 0:
				w, _ = m.Hit(t.Context(), k)
			case 1:
				w, _ = m.Take(t.Context(), k, perMin.Key(strconv.Itoa(int(arg/2))))
				longest = max(longest, perMin.Window)
			case 2:
				_ = m.Reset(t.Context(), k)
			case 3:
				c.Advance(time.Duration(arg) * time.Second)
				w, _ = m.Wait(t.Context(), k)
			}
			if w < 0 || w > longest {
				t.Fatalf("op %d on %s: wait %v, longest %v", op, l.Name, w, longest)
			}
		}
		checkShards(t, m)
		if m.Len() > m.Capacity() {
			t.Fatalf("Len %d over capacity %d", m.Len(), m.Capacity())
		}
	})
}
