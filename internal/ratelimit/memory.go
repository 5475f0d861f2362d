package ratelimit

import (
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"time"
)

// shardCount is the number of independently locked parts of a Memory.
const shardCount = 64

// DefaultCapacity is how many counters a Memory keeps at most by default:
// about 26 MiB when full (27.5 MB measured on amd64).
const DefaultCapacity = 1 << 18

// Memory keeps counters in this process. Its size is bounded: the keys
// are spread over 64 shards by a keyed hash (a client cannot aim at one),
// each with its own lock and a fixed number of counters; when a shard is
// full, a new counter takes the place of the one touched least recently
// (LRU, O(1)). No operation scans, so none costs more as the map fills.
// Its methods never fail.
type Memory struct {
	salt   [16]byte
	now    func() time.Time
	shards [shardCount]shard
}

// NewMemory returns a Memory of at most capacity counters (DefaultCapacity
// if capacity <= 0); now may be nil.
func NewMemory(capacity int, now func() time.Time) *Memory {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now}
	_, _ = rand.Read(m.salt[:]) // never fails
	per := max(1, capacity/shardCount)
	for i := range m.shards {
		m.shards[i].idx = map[digest]int32{}
		m.shards[i].cap = per
		m.shards[i].head, m.shards[i].tail = -1, -1
	}
	return m
}

// Capacity is the most counters m keeps.
func (m *Memory) Capacity() int { return shardCount * m.shards[0].cap }

// Len is how many counters m holds now, live or expired.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.ents)
		s.mu.Unlock()
	}
	return n
}

// Wait returns how long the keys must wait before their next event (the
// longest of them); 0 means go ahead.
func (m *Memory) Wait(_ context.Context, keys ...Key) (time.Duration, error) {
	var wait time.Duration
	m.each(keys, func(s *shard, k Key, d digest, now int64) {
		wait = max(wait, s.wait(k.Limit, d, now))
	})
	return wait, nil
}

// Hit counts an event on every key and returns the longest wait that the
// keys must now observe.
func (m *Memory) Hit(_ context.Context, keys ...Key) (time.Duration, error) {
	var wait time.Duration
	m.each(keys, func(s *shard, k Key, d digest, now int64) {
		wait = max(wait, s.hit(k.Limit, d, now))
	})
	return wait, nil
}

// Take counts an event on every key if none of them must wait, and
// returns 0; otherwise it counts nothing and returns the longest wait.
// The check and the count are one step, also for concurrent callers.
func (m *Memory) Take(_ context.Context, keys ...Key) (time.Duration, error) {
	var wait time.Duration
	m.locked(keys, func(now int64, ds []digest) {
		for i, k := range keys {
			wait = max(wait, m.shard(ds[i]).wait(k.Limit, ds[i], now))
		}
		if wait > 0 {
			return
		}
		for i, k := range keys {
			m.shard(ds[i]).hit(k.Limit, ds[i], now)
		}
	})
	return wait, nil
}

// Reset forgets the keys' counts.
func (m *Memory) Reset(_ context.Context, keys ...Key) error {
	m.each(keys, func(s *shard, _ Key, d digest, _ int64) { s.remove(d) })
	return nil
}

// Seen reports whether k has a live counter: an event within its window.
func (m *Memory) Seen(_ context.Context, k Key) (bool, error) {
	seen := false
	m.each([]Key{k}, func(s *shard, _ Key, d digest, now int64) {
		e := s.get(d, now)
		seen = e != nil
	})
	return seen, nil
}

func (m *Memory) shard(d digest) *shard { return &m.shards[d[0]%shardCount] }

// each calls f for every key with its shard locked.
func (m *Memory) each(keys []Key, f func(s *shard, k Key, d digest, now int64)) {
	now := m.now().UnixNano()
	for _, k := range keys {
		d := hashKey(m.salt[:], k)
		s := m.shard(d)
		s.mu.Lock()
		f(s, k, d, now)
		s.mu.Unlock()
	}
}

// locked calls f with the shards of every key locked, taken in order so
// that concurrent calls cannot deadlock.
func (m *Memory) locked(keys []Key, f func(now int64, ds []digest)) {
	ds := make([]digest, len(keys))
	idx := make([]int, 0, len(keys))
	for i, k := range keys {
		ds[i] = hashKey(m.salt[:], k)
		idx = append(idx, int(ds[i][0]%shardCount))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		m.shards[i].mu.Lock()
	}
	defer func() {
		for _, i := range idx {
			m.shards[i].mu.Unlock()
		}
	}()
	f(m.now().UnixNano(), ds)
}

// entry is one counter, in a shard's LRU list.
type entry struct {
	key        digest
	count      int64
	expires    int64 // Unix ns: the counter is gone from then on
	until      int64 // Unix ns: a failure counter's wait ends then
	prev, next int32 // LRU neighbours, -1 at the ends; head is the most recent
}

// shard is a bounded map of counters with LRU eviction. ents never grows
// past cap: a new counter in a full shard reuses the tail's place.
type shard struct {
	mu         sync.Mutex
	idx        map[digest]int32
	ents       []entry
	cap        int
	head, tail int32
	_          [64]byte // keeps shards' locks off each other's cache lines
}

// get returns the live counter of d, or nil.
func (s *shard) get(d digest, now int64) *entry {
	i, ok := s.idx[d]
	if !ok {
		return nil
	}
	e := &s.ents[i]
	if now >= e.expires {
		return nil
	}
	return e
}

func (s *shard) wait(l Limit, d digest, now int64) time.Duration {
	e := s.get(d, now)
	switch {
	case e == nil:
		return 0
	case l.isRate():
		if e.count >= int64(l.Free) {
			return time.Duration(e.expires - now)
		}
		return 0
	default:
		return time.Duration(max(0, e.until-now))
	}
}

// hit counts one event on d and returns the wait it now imposes.
func (s *shard) hit(l Limit, d digest, now int64) time.Duration {
	e := s.touch(d, now, int64(l.Window))
	e.count++
	if l.isRate() {
		if e.count >= int64(l.Free) {
			return time.Duration(e.expires - now)
		}
		return 0
	}
	e.expires = now + int64(l.Window)
	if over := e.count - int64(l.Free); over > 0 {
		w := l.delay(over)
		e.until = now + int64(w)
		return w
	}
	return 0
}

// touch returns d's counter, moved to the head of the LRU list: the live
// one, or a fresh one (count 0, expiring after window) in the place of an
// expired one, a free place or the least recently touched counter.
func (s *shard) touch(d digest, now, window int64) *entry {
	i, ok := s.idx[d]
	if !ok {
		if len(s.ents) < s.cap {
			s.ents = append(s.ents, entry{prev: -1, next: -1})
			i = int32(len(s.ents) - 1)
		} else {
			i = s.tail
			s.unlink(i)
			if j, ok := s.idx[s.ents[i].key]; ok && j == i { // not a removed place
				delete(s.idx, s.ents[i].key)
			}
		}
		s.ents[i] = entry{key: d, expires: now + window, prev: -1, next: -1}
		s.idx[d] = i
		s.pushFront(i)
		return &s.ents[i]
	}
	e := &s.ents[i]
	if now >= e.expires {
		e.count, e.until, e.expires = 0, 0, now+window
	}
	if s.head != i {
		s.unlink(i)
		s.pushFront(i)
	}
	return e
}

// remove forgets d's counter: its place becomes the tail, the first to be
// reused.
func (s *shard) remove(d digest) {
	i, ok := s.idx[d]
	if !ok {
		return
	}
	delete(s.idx, d)
	s.unlink(i)
	s.ents[i] = entry{prev: -1, next: -1}
	s.pushBack(i)
}

func (s *shard) unlink(i int32) {
	e := &s.ents[i]
	if e.prev >= 0 {
		s.ents[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.ents[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (s *shard) pushFront(i int32) {
	e := &s.ents[i]
	e.prev, e.next = -1, s.head
	if s.head >= 0 {
		s.ents[s.head].prev = i
	}
	s.head = i
	if s.tail < 0 {
		s.tail = i
	}
}

func (s *shard) pushBack(i int32) {
	e := &s.ents[i]
	e.next, e.prev = -1, s.tail
	if s.tail >= 0 {
		s.ents[s.tail].next = i
	}
	s.tail = i
	if s.head < 0 {
		s.head = i
	}
}
