package argon2

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"

	upstream "golang.org/x/crypto/argon2"
)

// dirty fills m's memory with garbage, as an earlier hash would leave it.
func dirty(m *Memory, r *rand.Rand) {
	for i := range m.blocks {
		for j := range m.blocks[i] {
			m.blocks[i][j] = r.Uint64()
		}
	}
}

type params struct {
	time, memory uint32
	threads      uint8
	keyLen       uint32
}

// TestIDKeyMatchesUpstream checks the derivation against
// golang.org/x/crypto/argon2 over parameters that exercise every path: one
// and several passes (the first pass writes, later ones XOR), one and
// several lanes, memory costs that round down or up to whole segments, and
// keys shorter and longer than one BLAKE2b output (H' extends them). Each
// case runs in allocated memory, in reused memory full of garbage, and in
// memory too small for it (which falls back to allocating).
func TestIDKeyMatchesUpstream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, err := NewMemory(4096)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	small, err := NewMemory(8)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()

	cases := []params{
		{1, 8, 1, 32}, {2, 64, 1, 32}, {3, 64, 2, 32}, {1, 19, 1, 16},
		{2, 63, 3, 4}, {4, 1024, 4, 64}, {2, 4096, 1, 65}, {1, 100, 8, 128},
		{3, 256, 2, 100}, {1, 1, 1, 32}, {2, 4096, 6, 33},
	}
	for range 24 {
		cases = append(cases, params{
			time:    1 + r.Uint32N(3),
			memory:  1 + r.Uint32N(2048),
			threads: uint8(1 + r.UintN(4)),
			keyLen:  4 + r.Uint32N(200),
		})
	}
	for _, c := range cases {
		pw := make([]byte, r.IntN(80))
		salt := make([]byte, 8+r.IntN(24))
		for i := range pw {
			pw[i] = byte(r.Uint32())
		}
		for i := range salt {
			salt[i] = byte(r.Uint32())
		}
		want := upstream.IDKey(pw, salt, c.time, c.memory, c.threads, c.keyLen)
		if got := IDKey(pw, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
			t.Errorf("%+v allocated: %x, want %x", c, got, want)
		}
		if !m.Fits(c.memory, c.threads) {
			t.Errorf("%+v: a 4096-block memory does not fit it", c)
		}
		for round := range 2 {
			dirty(m, r)
			if got := m.IDKey(pw, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
				t.Errorf("%+v reused memory, round %d: %x, want %x", c, round, got, want)
			}
		}
		dirty(small, r)
		if got := small.IDKey(pw, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
			t.Errorf("%+v memory too small: %x, want %x", c, got, want)
		}
	}
}

func TestFits(t *testing.T) {
	m, err := NewMemory(19 << 10)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range []struct {
		memory  uint32
		threads uint8
		want    bool
	}{
		{19 << 10, 1, true}, {19<<10 + 3, 1, true}, {19<<10 + 4, 1, false},
		{19<<10 + 7, 2, true}, {19<<10 + 8, 2, false}, {1, 1, true}, {0, 200, true},
	} {
		if got := m.Fits(c.memory, c.threads); got != c.want {
			t.Errorf("Fits(%d, %d) = %v, want %v", c.memory, c.threads, got, c.want)
		}
	}
	var none *Memory
	if none.Fits(8, 1) {
		t.Error("a nil Memory fits a hash")
	}
	if got, want := none.IDKey([]byte("pw"), []byte("saltsalt"), 1, 64, 1, 32), upstream.IDKey([]byte("pw"), []byte("saltsalt"), 1, 64, 1, 32); !bytes.Equal(got, want) {
		t.Errorf("nil Memory: %x, want %x", got, want)
	}
	if _, err := NewMemory(0); err == nil {
		t.Error("NewMemory(0) succeeded")
	}
}

// TestMemoryIsReused checks that a hash in a Memory that fits allocates
// next to nothing on the Go heap, where one without allocates its whole
// memory cost.
func TestMemoryIsReused(t *testing.T) {
	const kib = 4096
	m, err := NewMemory(kib)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pw, salt := []byte("correct horse"), []byte("0123456789abcdef")
	heap := func(f func()) uint64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	m.IDKey(pw, salt, 1, kib, 1, 32) // first use: nothing lazily allocated later
	if n := heap(func() { m.IDKey(pw, salt, 2, kib, 1, 32) }); n > 64<<10 {
		t.Errorf("a hash in a Memory allocated %d bytes", n)
	}
	if n := heap(func() { m.IDKey(pw, salt, 2, kib+4, 1, 32) }); n < kib<<10 {
		t.Errorf("a hash too big for its Memory allocated only %d bytes", n)
	}
}

func TestClose(t *testing.T) {
	m, err := NewMemory(64)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if m.Fits(8, 1) || m.Size() != 0 {
		t.Error("a closed Memory still has memory")
	}
}

// FuzzIDKey compares reused, dirty memory with upstream on small costs.
func FuzzIDKey(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(2), uint16(64), uint8(1), uint8(32), uint64(1))
	f.Add([]byte(""), []byte("saltsaltsalt"), uint8(1), uint16(9), uint8(3), uint8(70), uint64(2))
	m, err := NewMemory(1024)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close() })
	f.Fuzz(func(t *testing.T, pw, salt []byte, time uint8, memory uint16, threads, keyLen uint8, seed uint64) {
		tm, mem, th, kl := 1+uint32(time%3), uint32(memory%1024), 1+threads%8, 4+uint32(keyLen)
		want := upstream.IDKey(pw, salt, tm, mem, th, kl)
		dirty(m, rand.New(rand.NewPCG(seed, 0)))
		if got := m.IDKey(pw, salt, tm, mem, th, kl); !bytes.Equal(got, want) {
			t.Fatalf("t=%d m=%d p=%d len=%d: %x, want %x", tm, mem, th, kl, got, want)
		}
	})
}

func BenchmarkIDKey(b *testing.B) {
	const kib = 19 << 10
	pw, salt := []byte("correct horse battery staple"), make([]byte, 16)
	b.Run("upstream", func(b *testing.B) {
		for b.Loop() {
			upstream.IDKey(pw, salt, 2, kib, 1, 32)
		}
	})
	b.Run("memory", func(b *testing.B) {
		m, err := NewMemory(kib)
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		for b.Loop() {
			m.IDKey(pw, salt, 2, kib, 1, 32)
		}
	})
}

// TestBlockFunctions checks the portable block function, used where the
// assembly is not (other architectures, purego builds), against the one
// this build uses, in both the writing and the XORing form.
func TestBlockFunctions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var in1, in2, out, want, got block
	for range 100 {
		for i := range in1 {
			in1[i], in2[i], out[i] = r.Uint64(), r.Uint64(), r.Uint64()
		}
		want, got = out, out
		processBlock(&want, &in1, &in2)
		processBlockGeneric(&got, &in1, &in2, false)
		if got != want {
			t.Fatal("generic block function differs from processBlock")
		}
		want, got = out, out
		processBlockXOR(&want, &in1, &in2)
		processBlockGeneric(&got, &in1, &in2, true)
		if got != want {
			t.Fatal("generic block function differs from processBlockXOR")
		}
	}
}

// TestHashYields checks that a hash lets a goroutine waiting for its
// processor run every yieldBlocks blocks: with one processor, a goroutine
// that only yields gets it back about as often as the hash yields, where
// without the yields it would run only when the runtime preempts the hash
// (every 10 ms, once or twice in this hash).
func TestHashYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const kib = 16 * yieldBlocks // 16 yields in one pass
	m, err := NewMemory(kib)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var (
		turns int
		done  = make(chan struct{})
		hash  = make(chan struct{})
	)
	go func() {
		close(hash)
		m.IDKey([]byte("pw"), []byte("saltsalt"), 1, kib, 1, 32)
		close(done)
	}()
	<-hash
	for {
		select {
		case <-done:
			if turns < 12 {
				t.Errorf("a goroutine waiting beside a hash of %d blocks ran %d times, want about %d", kib, turns, kib/yieldBlocks)
			}
			return
		default:
			turns++
			runtime.Gosched()
		}
	}
}
