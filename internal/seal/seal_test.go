package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func newKey(t testing.TB) []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

func mustNew(t testing.TB, primary []byte, old ...[]byte) *Sealer {
	s, err := New(primary, old...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTripHidesPlaintext(t *testing.T) {
	s := mustNew(t, newKey(t))
	secret := []byte("a private key that must not be readable at rest")
	blob, err := s.Seal([]byte("kid-1"), secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, secret) || bytes.Contains(blob, secret[:8]) {
		t.Fatal("the blob holds the plaintext")
	}
	if len(blob) != len(secret)+Overhead || !IsSealed(blob) {
		t.Fatalf("blob of %d bytes, IsSealed %t", len(blob), IsSealed(blob))
	}
	got, err := s.Open([]byte("kid-1"), blob)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := s.Seal([]byte("kid-1"), secret)
	if bytes.Equal(blob, again) {
		t.Fatal("two seals of the same plaintext are equal: the nonce is not fresh")
	}
}

func TestOpenRefusesAnotherRow(t *testing.T) {
	s := mustNew(t, newKey(t))
	blob, _ := s.Seal([]byte("kid-1"), []byte("secret"))
	if _, err := s.Open([]byte("kid-2"), blob); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("blob moved to another row: err = %v, want ErrAuthentication", err)
	}
}

func TestOpenRefusesEveryTamperedByte(t *testing.T) {
	s := mustNew(t, newKey(t))
	blob, _ := s.Seal([]byte("kid"), []byte("secret bytes"))
	for i := range blob {
		bad := bytes.Clone(blob)
		bad[i] ^= 0x01
		if _, err := s.Open([]byte("kid"), bad); err == nil {
			t.Fatalf("a blob with byte %d flipped opened", i)
		}
	}
	if _, err := s.Open([]byte("kid"), blob[:len(blob)-1]); err == nil {
		t.Fatal("a truncated blob opened")
	}
}

func TestOldKeysOpenAndUnknownKeysAreNamed(t *testing.T) {
	oldKey, newK := newKey(t), newKey(t)
	blob, _ := mustNew(t, oldKey).Seal([]byte("kid"), []byte("secret"))

	rotated := mustNew(t, newK, oldKey)
	if got, err := rotated.Open([]byte("kid"), blob); err != nil || string(got) != "secret" {
		t.Fatalf("old key did not open: %q, %v", got, err)
	}
	if rotated.SealedWithPrimary(blob) {
		t.Fatal("a blob of the old key counts as sealed with the primary")
	}
	resealed, _ := rotated.Seal([]byte("kid"), []byte("secret"))
	if !rotated.SealedWithPrimary(resealed) {
		t.Fatal("a fresh blob does not count as sealed with the primary")
	}

	_, err := mustNew(t, newK).Open([]byte("kid"), blob)
	if !errors.Is(err, ErrKeyNotConfigured) || !strings.Contains(err.Error(), IDOf(oldKey).String()) {
		t.Fatalf("without the old key: err = %v, want ErrKeyNotConfigured naming %s", err, IDOf(oldKey))
	}
	var none *Sealer
	if _, err := none.Open([]byte("kid"), blob); !errors.Is(err, ErrKeyNotConfigured) {
		t.Fatalf("nil Sealer: err = %v", err)
	}
	if _, err := none.Seal(nil, []byte("x")); err == nil {
		t.Fatal("a nil Sealer sealed")
	}
}

func TestOpenRefusesWhatIsNotABlob(t *testing.T) {
	s := mustNew(t, newKey(t))
	der, _ := hex.DecodeString("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420")
	for _, b := range [][]byte{nil, []byte("GHS"), der, append([]byte("GHS\x02"), make([]byte, 40)...)} {
		if _, err := s.Open(nil, b); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open(%x) = %v, want ErrMalformed", b, err)
		}
	}
	if IsSealed(der) {
		t.Fatal("PKCS #8 DER counts as sealed")
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key was accepted")
	}
	if _, err := New(newKey(t), make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte old key was accepted")
	}
}

func TestParseKey(t *testing.T) {
	k := newKey(t)
	for _, enc := range []string{
		hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)),
		base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k),
		base64.URLEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k),
		" " + hex.EncodeToString(k) + "\n",
	} {
		got, err := ParseKey(enc)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%s) = %x, %v", enc, got, err)
		}
	}
	seq := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i)
	}
	bad := map[string]string{
		"short":     hex.EncodeToString(k[:16]),
		"long":      base64.StdEncoding.EncodeToString(append(k, k[0])),
		"not coded": "this is definitely not hex or b64!",
		"zeros":     strings.Repeat("00", 32),
		"same":      strings.Repeat("ab", 32),
		"pattern":   strings.Repeat("0123456789abcdef", 4),
		"counting":  hex.EncodeToString(seq),
		"text":      base64.StdEncoding.EncodeToString([]byte("correct horse battery staple!!!!")),
		"few bytes": hex.EncodeToString(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 9, 8}, 4)[:32]),
	}
	for name, s := range bad {
		_, err := ParseKey(s)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), "openssl rand -hex 32") {
			t.Errorf("%s: %v does not say how to make a key", name, err)
		}
	}
}

// FuzzOpen feeds arbitrary bytes to the blob parser and to Open: neither
// may panic, and nothing but a blob sealed with the key opens.
func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{0x5a, 0xc3, 0x17, 0x88}, 8)
	s, err := New(key)
	if err != nil {
		f.Fatal(err)
	}
	blob, _ := s.Seal([]byte("kid"), []byte("secret"))
	f.Add([]byte("kid"), blob)
	f.Add([]byte(""), []byte("GHS\x01"))
	f.Add([]byte("kid"), []byte{0x30, 0x81, 0x87})
	f.Fuzz(func(t *testing.T, aad, data []byte) {
		b, perr := Parse(data)
		plain, err := s.Open(aad, data)
		if perr != nil && err == nil {
			t.Fatal("Open accepted what Parse refused")
		}
		if err == nil {
			if b.KeyID != s.Primary() || !bytes.Equal(plain, []byte("secret")) || !bytes.Equal(aad, []byte("kid")) {
				t.Fatalf("forged blob opened: %x", data)
			}
		}
	})
}
