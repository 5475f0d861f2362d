package seal

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeyHint says how to make a good key.
const KeyHint = "generate one with: openssl rand -hex 32 (or: head -c32 /dev/urandom | base64)"

// ParseKey decodes a key given as hex or base64 (standard or URL alphabet,
// padded or not) and refuses one that is not KeySize bytes or visibly not
// random. The error never contains the key.
func ParseKey(s string) ([]byte, error) {
	key, err := decodeKey(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("the key is %d bytes after decoding, want %d: %s", len(key), KeySize, KeyHint)
	}
	if why := notRandom(key); why != "" {
		return nil, fmt.Errorf("the key is not random (%s): %s", why, KeyHint)
	}
	return key, nil
}

var errEncoding = errors.New("the key is neither hex nor base64: " + KeyHint)

func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errEncoding
}

// notRandom names what gives a key away as made by hand, or "". Each check
// fails for 32 random bytes with a chance below 10⁻⁹.
func notRandom(k []byte) string {
	switch {
	case period(k) <= len(k)/2:
		return "it repeats a short pattern"
	case arithmetic(k):
		return "its bytes count up or down"
	case distinct(k) < 20:
		return "too few distinct bytes"
	case printable(k):
		return "it is text"
	}
	return ""
}

// period returns the length of the shortest pattern that k repeats.
func period(k []byte) int {
	for p := 1; p < len(k); p++ {
		ok := true
		for i := p; i < len(k) && ok; i++ {
			ok = k[i] == k[i-p]
		}
		if ok {
			return p
		}
	}
	return len(k)
}

// arithmetic reports whether consecutive bytes differ by the same step
// (00 01 02 …, or ff fe fd …).
func arithmetic(k []byte) bool {
	for i := 2; i < len(k); i++ {
		if k[i]-k[i-1] != k[1]-k[0] {
			return false
		}
	}
	return true
}

func distinct(k []byte) int {
	var seen [256]bool
	n := 0
	for _, b := range k {
		if !seen[b] {
			seen[b], n = true, n+1
		}
	}
	return n
}

// printable reports whether every byte is printable ASCII: a passphrase,
// not random bytes.
func printable(k []byte) bool {
	for _, b := range k {
		if b < 0x20 || b > 0x7e {
			return false
		}
	}
	return true
}
