// Package totp implements time-based one-time passwords as authenticator
// apps use them (RFC 6238 over RFC 4226: HMAC-SHA-1, 6 digits, 30-second
// steps from the Unix epoch), the base32 form of their secrets, the
// otpauth:// key URI that enrols an app, and that URI as an SVG QR code.
//
// The package keeps no state: which steps a user has used (so that a code
// is accepted once) is the caller's to record.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Period is the length of one step; Digits the length of a code.
const (
	Period = 30 * time.Second
	Digits = 6
	// SecretSize is the length in bytes of a secret made by NewSecret
	// (160 bits, RFC 4226's recommendation).
	SecretSize = 20
)

// ErrInvalidSecret is returned by Decode for text that is not a base32
// secret.
var ErrInvalidSecret = errors.New("totp: invalid base32 secret")

// maxSecretText bounds the text Decode reads (a SecretSize secret is 32
// characters).
const maxSecretText = 256

// maxCodeInput bounds the text ParseCode reads.
const maxCodeInput = 32

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// StepAt returns the step of t: floor(unix seconds / 30), RFC 6238's T
// with T0 = 0 (negative before 1970).
func StepAt(t time.Time) int64 {
	const period = int64(Period / time.Second)
	u := t.Unix()
	s := u / period
	if u%period < 0 {
		s--
	}
	return s
}

// NewSecret returns a new random secret of SecretSize bytes. Callers store
// it sealed; Encode gives the form a user types into an app.
func NewSecret() []byte {
	b := make([]byte, SecretSize)
	// crypto/rand.Read never returns an error (it crashes the program
	// instead, when the system has no randomness to give).
	_, _ = rand.Read(b)
	return b
}

// Encode returns secret in base32 (RFC 4648), upper case, without padding.
func Encode(secret []byte) string {
	return b32.EncodeToString(secret)
}

// Decode reads a base32 secret as a user may type it: letters of either
// case, spaces anywhere, surrounding white space, and "=" padding (which,
// if present, must be complete). Anything else, an empty secret, a
// non-canonical encoding (unused trailing bits set) or text over 256 bytes
// is refused with an error wrapping ErrInvalidSecret.
func Decode(s string) ([]byte, error) {
	if len(s) > maxSecretText {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidSecret, maxSecretText)
	}
	norm, padded, err := normalizeSecret(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	enc := b32
	if padded {
		if len(norm)%8 != 0 {
			return nil, fmt.Errorf("%w: incorrect padding", ErrInvalidSecret)
		}
		enc = base32.StdEncoding
	}
	secret, err := enc.DecodeString(norm)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSecret, err)
	}
	if len(secret) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	if Encode(secret) != strings.TrimRight(norm, "=") {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrInvalidSecret)
	}
	return secret, nil
}

// normalizeSecret drops spaces and upper-cases s, refusing any byte that
// is not of the base32 alphabet or "=", and reports whether s is padded.
func normalizeSecret(s string) (string, bool, error) {
	b := make([]byte, 0, len(s))
	padded := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z', '2' <= c && c <= '7':
		case c == '=':
			padded = true
		default:
			return "", false, fmt.Errorf("%w: unexpected character at byte %d", ErrInvalidSecret, i)
		}
		if padded && c != '=' {
			return "", false, fmt.Errorf("%w: data after padding", ErrInvalidSecret)
		}
		b = append(b, c)
	}
	return string(b), padded, nil
}

// Code returns the 6-digit code of secret at step: HOTP (RFC 4226, HMAC-SHA-1
// and dynamic truncation) of the step as an 8-byte big-endian counter.
func Code(secret []byte, step int64) string {
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(step))
	mac := hmac.New(sha1.New, secret)
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", bin%1_000_000)
}

// Match reports whether code (as ParseCode reads it) is the code of one of
// the steps StepAt(now)-1, StepAt(now) and StepAt(now)+1, and which. The
// three codes are always computed and compared in constant time. Should
// code be the code of two of these steps, the later one is returned, so
// that a caller that accepts only steps after the last used one refuses
// the code's replay.
func Match(secret []byte, code string, now time.Time) (step int64, ok bool) {
	c, _ := ParseCode(code) // "" when unreadable: it matches nothing
	cur := StepAt(now)
	for s := cur - 1; s <= cur+1; s++ {
		if subtle.ConstantTimeCompare([]byte(Code(secret, s)), []byte(c)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// ParseCode reads a code as a user may type it: exactly 6 ASCII digits,
// with spaces between them ("123 456") or one hyphen between two of them
// ("123-456"), and white space around. It returns the 6 digits, or false
// for anything else (other digits, other separators, both kinds of
// separator, input over 32 bytes).
func ParseCode(s string) (string, bool) {
	if len(s) > maxCodeInput {
		return "", false
	}
	s = strings.TrimSpace(s)
	var digits [Digits]byte
	n, hyphen, space := 0, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			if n == Digits {
				return "", false
			}
			digits[n] = c
			n++
		case c == ' ':
			space = true
		case c == '-' && !hyphen && isDigit(s, i-1) && isDigit(s, i+1):
			hyphen = true
		default:
			return "", false
		}
	}
	if n != Digits || (hyphen && space) {
		return "", false
	}
	return string(digits[:]), true
}

func isDigit(s string, i int) bool {
	return i >= 0 && i < len(s) && '0' <= s[i] && s[i] <= '9'
}
