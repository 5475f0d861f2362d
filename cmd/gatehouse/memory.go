package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// hashSlots is what the memory limit needs to know of the password hasher.
type hashSlots interface {
	Slots() int // hashes that may run at once
	InUse() int // hashes running now
}

// memoryHeadroom is the heap growth allowed beyond the live data and the
// password hashes before a collection, the additive counterpart of GOGC.
const memoryHeadroom = 16 << 20

// limitMemory keeps a soft memory limit of the live heap (less the
// password hashes running) plus room for every hashing slot plus
// memoryHeadroom, updated every second, unless GOMEMLIMIT is set.
//
// Every argon2id hash allocates its memory (19 MiB by default) afresh and
// drops it when done, so a login flood makes garbage fast; with GOGC alone
// the heap grows to twice the live data, hashes in flight included, before
// a collection, and the process holds twice the memory it uses. The hash
// memory holds no pointers, so the extra collections that the limit brings
// cost little. Because the limit follows the live heap, it never pushes the
// collector to run without end when the live data grows (a long denylist).
func limitMemory(ctx context.Context, h hashSlots, hashBytes int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := func() {
		metrics.Read(sample)
		live := int64(sample[0].Value.Uint64())
		debug.SetMemoryLimit(memoryLimit(live, h.InUse(), h.Slots(), hashBytes))
	}
	set()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				set()
			}
		}
	}()
}

// memoryLimit is the limit for a live heap of live bytes while inUse of
// slots hashes of hashBytes each run: the live data other than hashes,
// room for every slot's hash with a quarter more for the collector to
// finish, and memoryHeadroom. The hash count is read after the heap, so it
// may be off; the limit still stays above the live heap by at least a
// quarter of the hashes' room plus memoryHeadroom.
func memoryLimit(live int64, inUse, slots int, hashBytes int64) int64 {
	other := max(live-int64(inUse)*hashBytes, 0)
	return other + int64(slots)*hashBytes*5/4 + memoryHeadroom
}
