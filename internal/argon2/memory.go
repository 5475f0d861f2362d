package argon2

import "fmt"

// Memory is the working memory of one hash at a time, kept between hashes
// so that a hash neither allocates nor clears its memory cost. Create it
// with [NewMemory] and release it with [Memory.Close]. A nil *Memory is
// valid: its hashes allocate, as [IDKey] does.
//
// The memory holds the last hash's internal state until the next hash
// overwrites it or Close releases it, as garbage does in the allocating
// implementation until the collector reuses it.
type Memory struct {
	blocks  []block
	release func() error // nil for memory on the Go heap
}

// NewMemory returns working memory for hashes with a memory cost of up to
// kib KiB (and any number of lanes that leaves the cost at or under kib).
// Where the platform allows (Linux and the other Unix systems) the memory
// is mapped outside the Go heap, so that the garbage collector neither
// scans nor counts it and the heap's growth target ignores it. Nothing is
// touched until a hash writes it, so unused memory costs no resident set.
func NewMemory(kib uint32) (*Memory, error) {
	if kib == 0 {
		return nil, fmt.Errorf("argon2: memory of 0 KiB")
	}
	b, release, err := mapBlocks(int(kib))
	if err != nil {
		return nil, fmt.Errorf("argon2: mapping %d KiB of working memory: %w", kib, err)
	}
	return &Memory{blocks: b, release: release}, nil
}

// Size returns the memory's capacity in KiB (blocks).
func (m *Memory) Size() uint32 { return uint32(len(m.blocks)) }

// Close releases the memory. The Memory must not be used afterwards.
func (m *Memory) Close() error {
	m.blocks = nil
	if m.release == nil {
		return nil
	}
	r := m.release
	m.release = nil
	return r()
}
