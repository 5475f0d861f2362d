package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"time"
)

// Hasher hashes and verifies passwords, running at most a fixed number of
// hashes at once. It is safe for concurrent use. Create it with [New].
type Hasher struct {
	params   Params
	slots    *slots // shared fairly between clients: see admission.go
	maxWait  time.Duration
	dummy    string // a hash that no password matches, for VerifyUnknownUser
	rejected atomic.Uint64
	hashTime atomic.Int64 // moving average of one hash's duration, ns
	memory   *workMemory  // argon2id working memory kept between hashes
}

// New returns a Hasher that makes hashes with p and runs at most slots
// hashes at once (runtime.GOMAXPROCS(0) if slots <= 0). A call waits at most
// maxWait for a slot before failing with ErrBusy; with maxWait <= 0 it does
// not wait at all. New computes no hash: VerifyUnknownUser's stand-in hash
// is a random salt and a random key, which costs a verification the same
// work as a real hash without making the process start slowly or hold a
// hash's memory from the start.
func New(p Params, slots int, maxWait time.Duration) (*Hasher, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("password: invalid params: %w", err)
	}
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	return &Hasher{
		params:  p,
		slots:   newSlots(slots),
		maxWait: maxWait,
		dummy:   unmatchable(p),
		memory:  newWorkMemory(p.Memory, memoryIdle),
	}, nil
}

// Hash returns the argon2id PHC string of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	c, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer h.release(c)
	defer h.timeHash(time.Now())
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt) // never fails: crypto/rand crashes the program instead
	return encodePHC(h.params, salt, h.idKey(h.params, password, salt)), nil
}

// Verify reports whether password matches encoded, an argon2id PHC string
// or a bcrypt hash. A wrong password is ok == false with a nil error; an
// unparsable or unsupported hash is an error wrapping ErrMalformedHash.
// needsRehash is true when ok and encoded is not an argon2id hash with the
// Hasher's parameters: the caller should then store Hash(password).
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, argon2idPrefix):
		return h.verifyArgon2id(ctx, password, encoded)
	case isBcrypt(encoded):
		return h.verifyBcrypt(ctx, password, encoded)
	}
	return false, false, malformed("unknown scheme")
}

// VerifyUnknownUser does the work of verifying a wrong password against a
// hash with the current parameters, slot included: call it when the username
// is unknown, so that such a login takes as long as one with a wrong
// password, then fail the login as for a wrong password. It never reports a
// match: it returns nil once the work is done, or ErrBusy.
func (h *Hasher) VerifyUnknownUser(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

// Params returns the parameters of the hashes h makes.
func (h *Hasher) Params() Params { return h.params }

// Slots returns how many hashes h runs at once at most.
func (h *Hasher) Slots() int { return h.slots.n }

// InUse returns how many hashes are running now.
func (h *Hasher) InUse() int { n, _ := h.slots.counts(); return n }

// Waiting returns how many calls are waiting for a slot now.
func (h *Hasher) Waiting() int { _, n := h.slots.counts(); return n }

// Rejected returns how many calls have failed with ErrBusy because no slot
// came free within the maximum wait (calls whose context ended are not
// counted).
func (h *Hasher) Rejected() uint64 { return h.rejected.Load() }

// RetryAfter is the delay to suggest to a client turned away with ErrBusy:
// the maximum wait rounded up to whole seconds, and at least one second.
func (h *Hasher) RetryAfter() time.Duration {
	return max(time.Second, (h.maxWait + time.Second - 1).Truncate(time.Second))
}

func (h *Hasher) verifyArgon2id(ctx context.Context, password, encoded string) (bool, bool, error) {
	d, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	c, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer h.release(c)
	defer h.timeHash(time.Now())
	key := h.idKey(d.Params, password, d.salt)
	ok := subtle.ConstantTimeCompare(key, d.key) == 1
	return ok, ok && d.Params != h.params, nil
}

func (h *Hasher) verifyBcrypt(ctx context.Context, password, encoded string) (bool, bool, error) {
	if _, err := checkBcrypt(encoded); err != nil {
		return false, false, err
	}
	c, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer h.release(c)
	defer h.timeHash(time.Now())
	ok, err := compareBcrypt(encoded, password)
	return ok, ok, err
}

// collectFromKiB is the hash memory from which collect starts a collection.
const collectFromKiB = 4 << 10

// collect runs a garbage collection after a hash whose memory (p.Memory)
// is large and did not fit in the kept working memory, before the hash's
// slot is released, when that memory is a large part of the heap. Such a
// hash allocates its memory afresh and drops it at the end; left to GOGC,
// the heap grows to twice the live data, hashes in flight counted as
// live, so a flood of such logins holds about half again the memory it
// uses. Collected before the slot's next hash
// starts, the memory is reused while still mapped. The collection costs
// little while the heap is small (hash memory holds no pointers, and
// concurrent calls share one collection); on a heap of more than four
// hashes' memory, GOGC's own headroom dwarfs one hash and collecting that
// often would cost more than it saves, so collect leaves it to GOGC.
func (h *Hasher) collect(p Params) {
	if p.Memory < collectFromKiB {
		return
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if live[0].Value.Kind() == metrics.KindUint64 && live[0].Value.Uint64() > 4*uint64(p.Memory)<<10 {
		return
	}
	runtime.GC()
}

// Admit returns ErrBusy, counted as a rejection, when a hash asked for now
// would be refused without waiting: no slot is free and the queue is
// already as long as the maximum wait allows; nil otherwise, reserving
// nothing. A login asks before any other work (the throttle, the user
// lookup), so that the excess of a flood is refused without a round trip
// to a database. Admit asks for a call without a client; a login should
// use [Hasher.AdmitFor] with its client's address.
func (h *Hasher) Admit() error { return h.admit("") }

// queueFull reports whether a call with ahead calls to be served before it
// would likely wait longer than h.maxWait: they and it, served in turn by
// every slot, take more than half of it at the recent hash duration (the
// half is a margin for hashes that slow down when the CPU is busy).
// Refusing it at once answers a flood's excess in microseconds instead of
// after the whole wait, and keeps the goroutines and connections of
// hopeless logins from piling up.
func (h *Hasher) queueFull(ahead int) bool {
	avg := h.hashTime.Load()
	if avg == 0 {
		return false
	}
	wait := int64(ahead+1) * avg / int64(h.slots.n)
	return time.Duration(wait) > h.maxWait/2
}

// timeHash folds the duration of a hash that began at start into the
// moving average that queueFull reads. The average falls fast (weight 1/2)
// and rises slowly (weight 1/8): the first hashes of a process, and hashes
// slowed by a burst of other work, would otherwise make queueFull refuse
// logins that would have been served in time. A lost update between
// concurrent calls only delays the average a little.
func (h *Hasher) timeHash(start time.Time) {
	d := int64(time.Since(start))
	old := h.hashTime.Load()
	switch {
	case old == 0:
		h.hashTime.Store(d)
	case d < old:
		h.hashTime.Store(old + (d-old)/2)
	default:
		h.hashTime.Store(old + (d-old)/8)
	}
}

// busy returns ErrBusy wrapping the reason ctx is done.
func busy(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))
}

// unmatchable returns a PHC string with parameters p, a random salt and a
// random key: verifying any password against it does a full hash and fails.
func unmatchable(p Params) string {
	salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
	rand.Read(salt)
	rand.Read(key)
	return encodePHC(p, salt, key)
}

// idKey returns the argon2id key of password with p and salt. It runs in
// working memory kept between hashes when p's memory cost fits in it (the
// Hasher's own parameters always do); a hash with a larger cost, such as
// one made before the cost was lowered, allocates its memory and collects
// it before the slot is released.
func (h *Hasher) idKey(p Params, password string, salt []byte) []byte {
	m := h.memory.get()
	defer h.memory.put(m)
	if !m.Fits(p.Memory, p.Threads) {
		defer h.collect(p)
	}
	return m.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}
