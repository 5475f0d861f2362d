package password

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// The benchmarks compare Hasher with argon2.IDKey called directly with the
// same parameters, to show the wrapper's overhead (semaphore, PHC encoding
// and parsing, constant-time comparison).

const benchPassword = "correct horse battery staple"

func benchHasher(b *testing.B) (*Hasher, string) {
	h := newTestHasher(b, DefaultParams, 0, time.Minute)
	enc, err := h.Hash(context.Background(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	return h, enc
}

func BenchmarkHashDefault(b *testing.B) {
	h, _ := benchHasher(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), benchPassword); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h, enc := benchHasher(b)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(context.Background(), benchPassword, enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkRawArgon2idDefault(b *testing.B) {
	p, salt := DefaultParams, make([]byte, DefaultParams.SaltLen)
	b.ReportAllocs()
	for b.Loop() {
		argon2.IDKey([]byte(benchPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
}

// The parallel variants run GOMAXPROCS goroutines against a Hasher with
// GOMAXPROCS slots, so none is refused.
func BenchmarkVerifyDefaultParallel(b *testing.B) {
	h, enc := benchHasher(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(context.Background(), benchPassword, enc); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}

func BenchmarkRawArgon2idDefaultParallel(b *testing.B) {
	p, salt := DefaultParams, make([]byte, DefaultParams.SaltLen)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey([]byte(benchPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
}
