package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func TestNewRejectsBadParams(t *testing.T) {
	ok := testParams()
	for name, mutate := range map[string]func(*Params){
		"zero threads":    func(p *Params) { p.Threads = 0 },
		"memory < 8*p":    func(p *Params) { p.Threads = 9; p.Memory = 71 },
		"memory > 1 GiB":  func(p *Params) { p.Memory = MaxMemory + 1 },
		"zero time":       func(p *Params) { p.Time = 0 },
		"time > 100":      func(p *Params) { p.Time = MaxTime + 1 },
		"salt too short":  func(p *Params) { p.SaltLen = MinSaltLen - 1 },
		"salt too long":   func(p *Params) { p.SaltLen = MaxSaltLen + 1 },
		"key too short":   func(p *Params) { p.KeyLen = MinKeyLen - 1 },
		"key too long":    func(p *Params) { p.KeyLen = MaxKeyLen + 1 },
		"zero value":      func(p *Params) { *p = Params{} },
		"all but threads": func(p *Params) { p.Threads = 0; p.Memory = 0 },
	} {
		p := ok
		mutate(&p)
		if _, err := New(p, 1, 0); err == nil {
			t.Errorf("%s: New(%+v) succeeded", name, p)
		}
	}
}

func TestNewDefaultsSlots(t *testing.T) {
	h := newTestHasher(t, testParams(), 0, 0)
	if got, want := h.Slots(), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("Slots() = %d, want GOMAXPROCS %d", got, want)
	}
	if got := newTestHasher(t, testParams(), 3, 0).Slots(); got != 3 {
		t.Errorf("Slots() = %d, want 3", got)
	}
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashFormat(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 0)
	a, err := h.Hash(context.Background(), "secret123")
	if err != nil {
		t.Fatal(err)
	}
	if !phcPattern.MatchString(a) {
		t.Errorf("Hash = %q, not an argon2id PHC string with the test params", a)
	}
	b, _ := h.Hash(context.Background(), "secret123")
	if a == b {
		t.Errorf("two hashes of the same password are equal: salt not random")
	}
}

func TestRoundTrip(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 0)
	for _, pw := range []string{"secret123", "", "pässwörd-ü€", strings.Repeat("long", 300), "nul\x00byte"} {
		enc, err := h.Hash(context.Background(), pw)
		if err != nil {
			t.Fatal(err)
		}
		assertVerify(t, h, pw, enc, true, false)
		assertVerify(t, h, pw+"x", enc, false, false)
	}
}

func TestRoundTripDefaultParams(t *testing.T) {
	h := newTestHasher(t, DefaultParams, 1, 0)
	enc, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") || len(enc) != len("$argon2id$v=19$m=19456,t=2,p=1$")+22+1+43 {
		t.Errorf("Hash = %q", enc)
	}
	assertVerify(t, h, "correct horse battery staple", enc, true, false)
	assertVerify(t, h, "correct horse battery stapler", enc, false, false)
}

func TestNeedsRehash(t *testing.T) {
	old := newTestHasher(t, testParams(), 1, 0)
	enc, err := old.Hash(context.Background(), "secret123")
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Params){
		"memory":  func(p *Params) { p.Memory *= 2 },
		"time":    func(p *Params) { p.Time++ },
		"threads": func(p *Params) { p.Threads++ },
		"salt":    func(p *Params) { p.SaltLen++ },
		"key":     func(p *Params) { p.KeyLen++ },
	} {
		p := testParams()
		mutate(&p)
		h := newTestHasher(t, p, 1, 0)
		t.Run(name, func(t *testing.T) {
			assertVerify(t, h, "secret123", enc, true, true)
			// A wrong password never asks for a rehash.
			assertVerify(t, h, "secret124", enc, false, false)
		})
	}
}

// Hashes made by other argon2 implementations, pasted as literals.
func TestVerifyForeignArgon2id(t *testing.T) {
	h := newTestHasher(t, DefaultParams, 1, 0)
	for _, tc := range []struct {
		name, password, hash string
		rehash               bool
		slow                 bool // only check the right password, and not with -short
	}{
		// argon2-cffi 21.1.0, PasswordHasher(time_cost=2, memory_cost=19456,
		// parallelism=1, hash_len=32, salt_len=16): our own parameters.
		{"argon2-cffi default params", "secret123",
			"$argon2id$v=19$m=19456,t=2,p=1$E7clDt9scjsZEO7/6lPc9A$6OnDRb4qJ/MbPlhSNHUyKS3l/6kef8gvLizKnSBFP5s", false, false},
		// argon2-cffi, four lanes.
		{"argon2-cffi p=4", "correct horse battery staple",
			"$argon2id$v=19$m=1024,t=3,p=4$Z91OYTqO8VxlwwMtyo3raw$94LiEe6euTj/+lj/JdwpqRIlDL/BQffqFbIuye9pO1c", true, false},
		// The reference implementation's CLI:
		// echo -n password | argon2 somesalt -id -t 2 -m 10 -p 2 -l 32 -e
		{"reference CLI 8-byte salt", "password",
			"$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk", true, false},
		// passlib 1.7.4 CryptContext(schemes=["argon2"]).hash("secret123"):
		// 100 MiB, eight lanes, 16-byte key.
		{"passlib default", "secret123",
			"$argon2id$v=19$m=102400,t=2,p=8$9j6n1BojpFTKuRdCqDUmBA$8Hsix5u5OLoArIGhrlvt/A", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slow && testing.Short() {
				t.Skip("slow parameters")
			}
			assertVerify(t, h, tc.password, tc.hash, true, tc.rehash)
			if !tc.slow {
				assertVerify(t, h, tc.password+"!", tc.hash, false, false)
			}
		})
	}
}

// malformedHashes are stored hashes that Verify must refuse with an error.
var malformedHashes = []string{
	"",
	"secret123",
	"$",
	"$argon2id",
	"$argon2id$",
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ",                                                                 // no key
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$",                                                                // empty key
	"$argon2id$v=19$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                                  // no params
	"$argon2id$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                          // no version
	"$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                     // old version
	"$argon2id$v=20$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                     // future version
	"$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                      // argon2i
	"$argon2d$v=19$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                      // argon2d
	"$argon2id$v=19$t=1,m=64,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                     // order
	"$argon2id$v=19$m=64,t=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                         // missing p
	"$argon2id$v=19$m=64,t=1,p=1,k=x$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                 // extra param
	"$argon2id$v=19$m=064,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                    // leading zero
	"$argon2id$v=19$m=+64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                    // sign
	"$argon2id$v=19$m=-64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                    // negative
	"$argon2id$v=19$m=,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                       // empty
	"$argon2id$v=19$m=6_4,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                    // underscore
	"$argon2id$v=19$m=1048577,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                // memory > 1 GiB
	"$argon2id$v=19$m=4294967296,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",             // overflows uint32
	"$argon2id$v=19$m=7,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                      // memory < 8*p
	"$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                     // time 0
	"$argon2id$v=19$m=64,t=101,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                   // time > 100
	"$argon2id$v=19$m=64,t=1,p=0$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                     // threads 0
	"$argon2id$v=19$m=4096,t=1,p=256$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                 // threads > 255
	"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                          // 4-byte salt
	"$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 88) + "$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk", // 66-byte salt
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAA",                                                 // 11-byte key
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$" + strings.Repeat("A", 88),                                      // 66-byte key
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                    // padding
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk=",                    // padding
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbH!$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                     // bad char
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT_I7OXVDKsviazk",                     // URL alphabet
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHR$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                     // spare bits set
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNh\nbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                   // newline
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk$",                    // trailing field
	"$argon2id$v=19$m=64,t=1,p=1$$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                    // extra field
	" $argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",                    // leading space
	"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$" + strings.Repeat("A", 300),                                     // too long
	"$scrypt$ln=16,r=8,p=1$c29tZXNhbHQ$kEfNQbPvk6Q7hokW6Jrvn1Mjb9kdT/I7OXVDKsviazk",
	"$1$saltsalt$hashhashhashhashhashha",                              // md5-crypt
	"$2x$04$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO",    // crypt_blowfish bug marker
	"$2$04$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO",     // original bcrypt
	"$3a$04$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO",    // no such version
	"$2a$03$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO",    // cost < 4
	"$2a$17$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO",    // cost > 16
	"$2a$31$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO",    // cost 31
	"$2a$+4$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO",    // signed cost
	"$2a$4$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO",     // one-digit cost
	"$2a$04AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hOx",    // no '$' after cost
	"$2a$04$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1h",     // short
	"$2a$04$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hOO",   // long
	"$2a$04$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1h+",    // '+' is not bcrypt base64
	"$2a$04$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1h\x00", // NUL
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 0)
	for _, enc := range malformedHashes {
		ok, rehash, err := h.Verify(context.Background(), "secret123", enc)
		if err == nil || ok || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want an error", enc, ok, rehash, err)
			continue
		}
		if !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q): error %v does not wrap ErrMalformedHash", enc, err)
		}
	}
}

// TestDecodePHCRoundTrip checks that decoding then encoding gives the
// string back: only the canonical form is accepted.
func TestDecodePHCRoundTrip(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 0)
	enc, _ := h.Hash(context.Background(), "x")
	d, err := decodePHC(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got := encodePHC(d.Params, d.salt, d.key); got != enc {
		t.Errorf("encodePHC(decodePHC(%q)) = %q", enc, got)
	}
	if d.Params != testParams() {
		t.Errorf("decoded params %+v, want %+v", d.Params, testParams())
	}
}

func TestVerifyUnknownUser(t *testing.T) {
	for _, p := range []Params{testParams(), DefaultParams} {
		h := newTestHasher(t, p, 1, 0)
		if err := h.VerifyUnknownUser(context.Background(), "secret123"); err != nil {
			t.Errorf("VerifyUnknownUser = %v, want nil", err)
		}
		// Same work as a wrong password against a current hash: the dummy is
		// an argon2id hash with exactly the current parameters...
		d, err := decodePHC(h.dummy)
		if err != nil {
			t.Fatalf("dummy hash %q: %v", h.dummy, err)
		}
		if d.Params != h.Params() {
			t.Errorf("dummy params %+v, want %+v", d.Params, h.Params())
		}
		// ...and the dummy is not shared between Hashers.
		if other := newTestHasher(t, p, 1, 0); other.dummy == h.dummy {
			t.Errorf("two Hashers share a dummy hash")
		}
	}
}

func TestErrBusy(t *testing.T) {
	const maxWait = 20 * time.Millisecond
	h := newTestHasher(t, testParams(), 1, maxWait)
	enc, err := h.Hash(context.Background(), "secret123")
	if err != nil {
		t.Fatal(err)
	}
	// Hold the only slot, as a long hash would.
	held, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.InUse() != 1 {
		t.Errorf("InUse() = %d, want 1", h.InUse())
	}
	calls := map[string]func() error{
		"Hash": func() error { _, err := h.Hash(context.Background(), "x"); return err },
		"Verify": func() error {
			ok, _, err := h.Verify(context.Background(), "secret123", enc)
			if ok {
				t.Error("Verify succeeded while busy")
			}
			return err
		},
		"Verify bcrypt": func() error {
			_, _, err := h.Verify(context.Background(), "secret123", passlibBcrypt2b)
			return err
		},
		"VerifyUnknownUser": func() error { return h.VerifyUnknownUser(context.Background(), "x") },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, ErrBusy) {
			t.Errorf("%s while busy: %v, want ErrBusy", name, err)
		}
		if d := time.Since(start); d < maxWait || d > maxWait+5*time.Second {
			t.Errorf("%s gave up after %v, want about %v", name, d, maxWait)
		}
	}
	if got := h.Rejected(); got != uint64(len(calls)) {
		t.Errorf("Rejected() = %d, want %d", got, len(calls))
	}
	if got := auth.ErrorCode(ErrBusy); got != auth.EUnavailable {
		t.Errorf("ErrBusy code = %s, want %s", got, auth.EUnavailable)
	}
	h.release(held)
	if ok, _, err := h.Verify(context.Background(), "secret123", enc); !ok || err != nil {
		t.Errorf("Verify after release = %v, %v", ok, err)
	}
	if h.InUse() != 0 {
		t.Errorf("InUse() = %d after all calls returned", h.InUse())
	}
}

func TestNoWait(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 0)
	held, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer h.release(held)
	if _, err := h.Hash(context.Background(), "x"); err != ErrBusy {
		t.Errorf("Hash with maxWait 0 while busy: %v, want ErrBusy", err)
	}
}

func TestBusyHonoursContext(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, time.Hour)

	// A context that is already done gets no slot, even a free one.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with a canceled context: %v, want ErrBusy and context.Canceled", err)
	}

	held, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer h.release(held)

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = h.Verify(ctx, "x", h.dummy)
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify past deadline: %v, want ErrBusy and context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Verify waited %v despite its context", d)
	}
	if h.Rejected() != 0 {
		t.Errorf("Rejected() = %d: context ends are not rejections", h.Rejected())
	}
}

func TestWaiterGetsFreedSlot(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, time.Minute)
	held, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := h.Hash(context.Background(), "x")
		done <- err
	}()
	for h.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	h.release(held)
	if err := <-done; err != nil {
		t.Errorf("waiting Hash: %v", err)
	}
	if h.Waiting() != 0 || h.InUse() != 0 {
		t.Errorf("Waiting() = %d, InUse() = %d after the call returned", h.Waiting(), h.InUse())
	}
}

func TestConcurrentUseStaysWithinSlots(t *testing.T) {
	const slots = 2
	h := newTestHasher(t, testParams(), slots, time.Minute)
	enc, _ := h.Hash(context.Background(), "secret123")
	errs := make(chan error, 16)
	for i := range cap(errs) {
		go func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = h.Hash(context.Background(), "secret123")
			case 1:
				var ok bool
				if ok, _, err = h.Verify(context.Background(), "secret123", enc); !ok && err == nil {
					err = errors.New("Verify failed")
				}
			case 2:
				err = h.VerifyUnknownUser(context.Background(), "x")
			}
			if n := h.InUse(); n > slots {
				t.Errorf("InUse() = %d > %d slots", n, slots)
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct{ wait, want time.Duration }{
		{0, time.Second},
		{-time.Second, time.Second},
		{100 * time.Millisecond, time.Second},
		{time.Second, time.Second},
		{1500 * time.Millisecond, 2 * time.Second},
	} {
		h := newTestHasher(t, testParams(), 1, tc.wait)
		if got := h.RetryAfter(); got != tc.want {
			t.Errorf("maxWait %v: RetryAfter() = %v, want %v", tc.wait, got, tc.want)
		}
	}
}

func assertVerify(t *testing.T, h *Hasher, password, encoded string, wantOK, wantRehash bool) {
	t.Helper()
	ok, rehash, err := h.Verify(context.Background(), password, encoded)
	if err != nil || ok != wantOK || rehash != wantRehash {
		t.Errorf("Verify(%.20q, %q) = %v, %v, %v; want %v, %v, nil", password, encoded, ok, rehash, err, wantOK, wantRehash)
	}
}

func TestFullQueueRefusedAtOnce(t *testing.T) {
	const maxWait = 4 * time.Second
	h := newTestHasher(t, testParams(), 1, maxWait)
	h.hashTime.Store(int64(time.Second)) // as if each hash took a second
	if err := h.Admit(); err != nil {
		t.Fatalf("Admit with a free slot: %v", err)
	}
	held, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Admit(); err != nil {
		t.Fatalf("Admit with no slot but room to wait: %v", err)
	}
	// Two waiters fit in half the wait: (0+1)·1s/1 and (1+1)·1s/1 ≤ 2s.
	done := make(chan error, 2)
	for range 2 {
		go func() {
			c, err := h.acquire(context.Background())
			if err == nil {
				h.release(c)
			}
			done <- err
		}()
		for deadline := time.Now().Add(5 * time.Second); h.Waiting() < 1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); h.Waiting() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	// A third would wait (2+1)·1s/1 > 2s: refused without waiting.
	rejected := h.Rejected()
	if err := h.Admit(); !errors.Is(err, ErrBusy) || h.Rejected() != rejected+1 {
		t.Errorf("Admit with a full queue: %v (rejections %d → %d), want ErrBusy counted", err, rejected, h.Rejected())
	}
	start := time.Now()
	if _, err := h.Hash(context.Background(), "x"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with a full queue: %v, want ErrBusy", err)
	}
	if d := time.Since(start); d > maxWait/2 {
		t.Errorf("refused after %v, want at once", d)
	}
	h.release(held)
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("queued call: %v", err)
		}
	}
}

func TestHashTimeAverage(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, time.Second)
	if h.queueFull(0) {
		t.Error("queueFull before any hash")
	}
	if _, err := h.Hash(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if h.hashTime.Load() <= 0 {
		t.Errorf("hashTime = %d after a hash, want > 0", h.hashTime.Load())
	}
}

func TestHashTimeFallsFastRisesSlowly(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, time.Second)
	h.hashTime.Store(int64(800 * time.Millisecond))
	h.timeHash(time.Now()) // about 0: halves the average
	if got := time.Duration(h.hashTime.Load()); got > 401*time.Millisecond || got < 399*time.Millisecond {
		t.Errorf("after a fast hash: %v, want about 400ms", got)
	}
	h.hashTime.Store(int64(time.Millisecond))
	h.timeHash(time.Now().Add(-801 * time.Millisecond))
	if got := time.Duration(h.hashTime.Load()); got > 102*time.Millisecond || got < 100*time.Millisecond {
		t.Errorf("after a slow hash: %v, want about 101ms", got)
	}
}

func TestCollectAfterLargeHash(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, time.Second)
	before := gcCount()
	h.collect(testParams()) // small: no collection
	if gcCount() != before {
		t.Error("a collection after a small hash")
	}
	h.collect(Params{Memory: 1 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if gcCount() == before {
		t.Error("no collection after a large hash")
	}
	big := make([]*int, 4<<20) // 32 MiB of live heap, more than four 4-MiB hashes
	runtime.GC()               // counted as live
	before = gcCount()
	h.collect(Params{Memory: collectFromKiB, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if gcCount() != before {
		t.Error("a collection although the heap dwarfs the hash")
	}
	runtime.KeepAlive(big)
}

func gcCount() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}
