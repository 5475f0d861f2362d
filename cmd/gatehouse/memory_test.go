package main

import "testing"

func TestMemoryLimit(t *testing.T) {
	const hash = 19 << 20
	for _, c := range []struct {
		name        string
		live        int64
		inUse       int
		slots       int
		want        int64
		description string
	}{
		{"idle", 8 << 20, 0, 2, 8<<20 + 2*hash*5/4 + memoryHeadroom, "live data plus every slot"},
		{"hashing", 8<<20 + 2*hash, 2, 2, 8<<20 + 2*hash*5/4 + memoryHeadroom, "running hashes are not live data"},
		{"big live heap", 200 << 20, 0, 2, 200<<20 + 2*hash*5/4 + memoryHeadroom, "grows with the live data"},
		{"more in use than live", 10 << 20, 2, 2, 2*hash*5/4 + memoryHeadroom, "a stale count"},
	} {
		if got := memoryLimit(c.live, c.inUse, c.slots, hash); got != c.want {
			t.Errorf("%s: memoryLimit = %d MiB, want %d MiB (%s)", c.name, got>>20, c.want>>20, c.description)
		}
		if got := memoryLimit(c.live, c.inUse, c.slots, hash); got < c.live+memoryHeadroom {
			t.Errorf("%s: limit %d below the live data", c.name, got)
		}
	}
}
