package password

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/clientaddr"
)

// The hashing slots are shared fairly between clients: a client is the
// address that a login comes from (an IPv6 address's /64), carried to the
// hasher in the context by [WithClient]. A call without one belongs to
// the client "", which is one client like any other.
//
// A free slot goes to whoever asks. When none is free, callers wait in one
// queue per client, and a slot that comes free goes to the waiting client
// that holds the fewest slots (the longest waiter first among equals): so
// no client holds more than its share while others wait, and a flood from
// one address makes only that address's queue long. The refusal of a
// hopeless wait (queueFull) counts, for a caller, the calls that would be
// served before it under that rule, not every call waiting.

type clientKey struct{}

// WithClient returns ctx carrying the client address addr, for the
// hasher's fair sharing of slots between clients.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, clientaddr.Network(addr))
}

func clientOf(ctx context.Context) string {
	addr, _ := ctx.Value(clientKey{}).(string)
	return addr
}

// slots hands out a fixed number of slots between clients.
type slots struct {
	n       int
	mu      sync.Mutex
	inUse   int
	waiting int
	seq     uint64             // orders waiters by arrival
	clients map[string]*client // those holding or waiting for a slot
}

type client struct {
	addr    string
	holding int
	waiters []*waiter // in arrival order
}

type waiter struct {
	seq     uint64
	granted bool
	ready   chan struct{} // closed when granted
}

func newSlots(n int) *slots { return &slots{n: n, clients: map[string]*client{}} }

// get returns addr's client, made if needed; the caller holds mu.
func (s *slots) get(addr string) *client {
	c := s.clients[addr]
	if c == nil {
		c = &client{addr: addr}
		s.clients[addr] = c
	}
	return c
}

// drop forgets c if it neither holds nor waits; the caller holds mu.
func (s *slots) drop(c *client) {
	if c.holding == 0 && len(c.waiters) == 0 {
		delete(s.clients, c.addr)
	}
}

// tryTake takes a free slot for addr at once; ok is false when none is free.
func (s *slots) tryTake(addr string) (*client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse >= s.n {
		return nil, false
	}
	c := s.get(addr)
	c.holding++
	s.inUse++
	return c, true
}

// enqueue queues a waiter for addr, unless full says the wait is hopeless
// (given how many calls would be served first): then it returns nil. A
// slot freed meanwhile is taken at once: then the waiter is nil and the
// client holds the slot.
func (s *slots) enqueue(addr string, full func(ahead int) bool) (*client, *waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse < s.n {
		c := s.get(addr)
		c.holding++
		s.inUse++
		return c, nil
	}
	if full(s.ahead(addr)) {
		return nil, nil
	}
	c := s.get(addr)
	s.seq++
	w := &waiter{seq: s.seq, ready: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	s.waiting++
	return c, w
}

// ahead is how many waiting calls would be served before a new waiter of
// addr: its own client's waiters, and of every other client's waiters as
// many as it would be served once more than its share; the caller holds mu.
func (s *slots) ahead(addr string) int {
	mine := 0
	if c := s.clients[addr]; c != nil {
		mine = len(c.waiters)
	}
	n := mine
	for a, c := range s.clients {
		if a != addr {
			n += min(len(c.waiters), mine+1)
		}
	}
	return n
}

// cancel takes w out of c's queue; granted reports that it had been given a
// slot meanwhile, which the caller then holds.
func (s *slots) cancel(c *client, w *waiter) (granted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		return true
	}
	if i := slices.Index(c.waiters, w); i >= 0 {
		c.waiters = slices.Delete(c.waiters, i, i+1)
		s.waiting--
	}
	s.drop(c)
	return false
}

// release gives c's slot back, handing it to the waiting client that holds
// the fewest slots, the longest waiter first among equals.
func (s *slots) release(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.holding--
	s.inUse--
	var next *client
	for _, d := range s.clients {
		if len(d.waiters) == 0 {
			continue
		}
		if next == nil || d.holding < next.holding ||
			(d.holding == next.holding && d.waiters[0].seq < next.waiters[0].seq) {
			next = d
		}
	}
	if next != nil {
		w := next.waiters[0]
		next.waiters = slices.Delete(next.waiters, 0, 1)
		s.waiting--
		next.holding++
		s.inUse++
		w.granted = true
		close(w.ready)
	}
	s.drop(c)
}

func (s *slots) counts() (inUse, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse, s.waiting
}

// acquire takes a slot for ctx's client, waiting at most h.maxWait and not
// after ctx is done; release the returned client's slot with h.release.
func (h *Hasher) acquire(ctx context.Context) (*client, error) {
	if ctx.Err() != nil {
		return nil, busy(ctx)
	}
	addr := clientOf(ctx)
	if c, ok := h.slots.tryTake(addr); ok {
		return c, nil
	}
	if h.maxWait <= 0 {
		h.rejected.Add(1)
		return nil, ErrBusy
	}
	c, w := h.slots.enqueue(addr, h.queueFull)
	switch {
	case c == nil:
		h.rejected.Add(1)
		return nil, ErrBusy
	case w == nil:
		return c, nil
	}
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return c, nil
	case <-timer.C:
		if h.slots.cancel(c, w) {
			return c, nil
		}
		h.rejected.Add(1)
		return nil, ErrBusy
	case <-ctx.Done():
		if h.slots.cancel(c, w) {
			h.slots.release(c)
		}
		return nil, busy(ctx)
	}
}

func (h *Hasher) release(c *client) { h.slots.release(c) }

// AdmitFor is Admit for the client that ctx carries (see [WithClient]):
// it refuses only when this client's call would wait too long, counting
// the calls that would be served before it under the fair sharing of
// slots, so that a flood from one address does not refuse the others.
func (h *Hasher) AdmitFor(ctx context.Context) error {
	return h.admit(clientOf(ctx))
}

func (h *Hasher) admit(addr string) error {
	s := h.slots
	s.mu.Lock()
	ok := s.inUse < s.n || (h.maxWait > 0 && !h.queueFull(s.ahead(addr)))
	s.mu.Unlock()
	if ok {
		return nil
	}
	h.rejected.Add(1)
	return ErrBusy
}
