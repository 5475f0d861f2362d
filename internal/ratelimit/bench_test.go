package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The benchmarks set the memory store's Hit and Wait beside a baseline: a
// plain map under one sync.Mutex, keyed by the raw string, with no hashing,
// no bound and no eviction (the old throttle's structure).

var benchIDs = func() []string {
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = "user" + strconv.Itoa(i) + "|192.0.2." + strconv.Itoa(i%256)
	}
	return ids
}()

func BenchmarkMemoryHit(b *testing.B) {
	m := NewMemory(0, nil)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = m.Hit(ctx, failures.Key(benchIDs[i%len(benchIDs)]))
		i++
	}
}

func BenchmarkMemoryWait(b *testing.B) {
	m := NewMemory(0, nil)
	ctx := context.Background()
	for _, id := range benchIDs {
		_, _ = m.Hit(ctx, failures.Key(id))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = m.Wait(ctx, failures.Key(benchIDs[i%len(benchIDs)]))
		i++
	}
}

func BenchmarkMemoryHitParallel(b *testing.B) {
	m := NewMemory(0, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = m.Hit(ctx, failures.Key(benchIDs[i%len(benchIDs)]))
			i++
		}
	})
}

type baseline struct {
	mu sync.Mutex
	m  map[string]*struct {
		n     int
		until time.Time
	}
}

func (b *baseline) hit(k string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.m[k]
	if !ok {
		c = &struct {
			n     int
			until time.Time
		}{}
		b.m[k] = c
	}
	c.n++
	c.until = time.Now().Add(time.Second)
}

func (b *baseline) wait(k string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.m[k]
	if !ok {
		return 0
	}
	return max(0, time.Until(c.until))
}

func newBaseline() *baseline {
	return &baseline{m: map[string]*struct {
		n     int
		until time.Time
	}{}}
}

func BenchmarkBaselineMutexMapHit(b *testing.B) {
	m := newBaseline()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.hit(benchIDs[i%len(benchIDs)])
		i++
	}
}

func BenchmarkBaselineMutexMapWait(b *testing.B) {
	m := newBaseline()
	for _, id := range benchIDs {
		m.hit(id)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = m.wait(benchIDs[i%len(benchIDs)])
		i++
	}
}

func BenchmarkBaselineMutexMapHitParallel(b *testing.B) {
	m := newBaseline()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.hit(benchIDs[i%len(benchIDs)])
			i++
		}
	})
}

// BenchmarkHashKey is the part of every operation that the baseline does
// not do: the keyed SHA-256 of the limit's name and the id.
func BenchmarkHashKey(b *testing.B) {
	salt := make([]byte, 16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = hashKey(salt, failures.Key(benchIDs[i%len(benchIDs)]))
		i++
	}
}
