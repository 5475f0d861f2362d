package password

import (
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/argon2"
)

// memoryIdle is how long the hashes' working memory is kept after the
// last hash ends: a login flood or a steady stream of logins reuses it,
// and a server that has stopped hashing gives it back to the system.
const memoryIdle = 30 * time.Second

// workMemory keeps the argon2id working memory of the hashes in flight,
// one [argon2.Memory] per slot in use at most, for reuse by the next hash:
// argon2 would otherwise allocate its whole memory cost on the Go heap for
// every hash, which the runtime clears and the collector must reclaim.
// The memory is mapped outside the Go heap (see [argon2.NewMemory]), so
// it neither grows the heap's target nor needs a collection. All of it is
// released once no hash has run for idle.
type workMemory struct {
	kib  uint32 // the size of each Memory: the hasher's memory cost
	idle time.Duration

	mu      sync.Mutex
	free    []*argon2.Memory
	inUse   int
	lastPut time.Time
	timer   *time.Timer // armed while memory is kept and none is in use
}

func newWorkMemory(kib uint32, idle time.Duration) *workMemory {
	return &workMemory{kib: kib, idle: idle}
}

// get returns a Memory for one hash, or nil (the hash then allocates, as
// upstream's does) when mapping a new one fails.
func (w *workMemory) get() *argon2.Memory {
	w.mu.Lock()
	w.inUse++
	if n := len(w.free); n > 0 {
		m := w.free[n-1]
		w.free = w.free[:n-1]
		w.mu.Unlock()
		return m
	}
	w.mu.Unlock()
	m, err := argon2.NewMemory(w.kib)
	if err != nil {
		return nil
	}
	return m
}

// put returns m, from get, for reuse.
func (w *workMemory) put(m *argon2.Memory) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inUse--
	if m != nil {
		w.free = append(w.free, m)
	}
	w.lastPut = time.Now()
	if w.inUse == 0 && len(w.free) > 0 && w.timer == nil {
		w.timer = time.AfterFunc(w.idle, w.releaseIdle)
	}
}

// releaseIdle releases the kept memory if no hash has run for idle, or
// checks again when that will be so.
func (w *workMemory) releaseIdle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = nil
	if len(w.free) == 0 {
		return
	}
	if wait := w.idle - time.Since(w.lastPut); w.inUse > 0 || wait > 0 {
		if w.inUse == 0 {
			w.timer = time.AfterFunc(wait, w.releaseIdle)
		}
		return
	}
	for _, m := range w.free {
		m.Close()
	}
	w.free = nil
}

// kept returns how many Memory values are kept for reuse now.
func (w *workMemory) kept() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.free)
}
