package config

import (
	"math"
	"strings"
)

// MinSecretBits is the least entropy, as estimateBits reckons it, of an
// accepted HS256 secret: NIST's floor for HMAC keys (SP 800-131A). Random
// secrets of 32 bytes or more clear it by far: `openssl rand -hex 32`
// carries 256 bits, `openssl rand -base64 32` 256 bits too.
const MinSecretBits = 112

const maxEstimated = 512

// estimateBits is a deliberately pessimistic estimate of how many bits of
// entropy s holds, for refusing secrets that are visibly not random. It
// prices s as an attacker who guesses patterns first would: each character
// costs log2 of the alphabet its kinds of character suggest (16 for hex,
// 26 per letter case, 10 for digits, 33 for ASCII punctuation and space,
// 128 for other bytes); in a run where three or more characters in a row
// each follow from the ones before (abcde, 98765, acegi, qwerty, 11111)
// those cost one bit each; and a repeat of four or more earlier characters costs the
// bits to say where it starts and how long it is. Patterns shorter than
// that are left alone, so a random secret is priced at nearly its full
// size.
// Only the first maxEstimated bytes are looked at (the work grows with the
// square of the length); they hold far more than enough bits.
func estimateBits(s string) float64 {
	s = s[:min(len(s), maxEstimated)]
	perChar := math.Log2(float64(alphabetSize(s)))
	cheap := predictableRuns(s)
	var bits float64
	for i := 0; i < len(s); {
		if n := longestRepeat(s, i); n >= 4 {
			cost := math.Log2(float64(i)) + math.Log2(float64(n)) + 1
			if cost < float64(n)*perChar {
				bits += cost
				i += n
				continue
			}
		}
		if cheap[i] {
			bits++
		} else {
			bits += perChar
		}
		i++
	}
	return bits
}

// alphabetSize is the size of the alphabet s seems drawn from.
func alphabetSize(s string) int {
	if isHex(s) {
		return 16
	}
	var lower, upper, digit, punct, high bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z':
			lower = true
		case 'A' <= c && c <= 'Z':
			upper = true
		case '0' <= c && c <= '9':
			digit = true
		case c < 0x80:
			punct = true
		default:
			high = true
		}
	}
	n := 0
	for _, k := range []struct {
		on   bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {punct, 33}, {high, 128}} {
		if k.on {
			n += k.size
		}
	}
	return max(n, 2)
}

func isHex(s string) bool {
	lower := strings.Trim(s, "0123456789abcdef") == ""
	upper := strings.Trim(s, "0123456789ABCDEF") == ""
	return lower || upper
}

// predictableRuns marks the characters of runs of three or more that each
// follow from the one or two before: the same step in byte value as the
// previous pair (abc, 2468, zyx, aaa), or the next or previous key on a
// keyboard row (qwe, lkj).
func predictableRuns(s string) []bool {
	follows := make([]bool, len(s))
	for i := 1; i < len(s); i++ {
		step := i >= 2 && int(s[i])-int(s[i-1]) == int(s[i-1])-int(s[i-2])
		follows[i] = step || keyboardNeighbours(s[i-1], s[i])
	}
	cheap := make([]bool, len(s))
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && follows[j] {
			j++
		}
		if j-i >= 3 {
			for k := i; k < j; k++ {
				cheap[k] = true
			}
		}
		i = max(j, i+1)
	}
	return cheap
}

var keyboardRows = []string{"`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./"}

// keyboardNeighbours reports whether b is next to a on a QWERTY row.
func keyboardNeighbours(a, b byte) bool {
	a, b = lowerASCII(a), lowerASCII(b)
	for _, row := range keyboardRows {
		i := strings.IndexByte(row, a)
		if i < 0 {
			continue
		}
		return (i+1 < len(row) && row[i+1] == b) || (i > 0 && row[i-1] == b)
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// longestRepeat is the length of the longest prefix of s[i:] that also
// starts at an earlier position (the copies may overlap, as in abcabcabc).
func longestRepeat(s string, i int) int {
	best := 0
	for j := 0; j < i; j++ {
		n := 0
		for i+n < len(s) && s[j+n] == s[i+n] {
			n++
		}
		best = max(best, n)
	}
	return best
}
