package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/argon2"
)

const (
	argon2idPrefix = "$argon2id$"
	// maxEncodedLen bounds a PHC string with the largest salt and key.
	maxEncodedLen = 256
)

// phc is a decoded argon2id PHC string. SaltLen and KeyLen are those of
// salt and key.
type phc struct {
	Params
	salt, key []byte
}

// encodePHC returns the PHC string of an argon2id key.
func encodePHC(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", argon2idPrefix, argon2.Version,
		p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodePHC parses an argon2id PHC string. It accepts only the canonical
// form that encodePHC writes (and other implementations too): version 19,
// parameters m, t, p in that order and in decimal without leading zeros,
// unpadded base64, and parameters within bounds.
func decodePHC(s string) (phc, error) {
	if len(s) > maxEncodedLen {
		return phc{}, malformed("too long")
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return phc{}, malformed("not an argon2id PHC string")
	}
	if f[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return phc{}, malformed("unsupported argon2 version")
	}
	var d phc
	var err error
	if d.Memory, d.Time, d.Threads, err = parseCost(f[3]); err != nil {
		return phc{}, err
	}
	if d.salt, err = decodeBase64(f[4]); err != nil {
		return phc{}, err
	}
	if d.key, err = decodeBase64(f[5]); err != nil {
		return phc{}, err
	}
	d.SaltLen, d.KeyLen = uint32(len(d.salt)), uint32(len(d.key))
	if err := d.validate(); err != nil {
		return phc{}, malformed(err.Error())
	}
	return d, nil
}

// parseCost parses "m=<memory>,t=<time>,p=<threads>".
func parseCost(s string) (memory, time uint32, threads uint8, err error) {
	kv := strings.Split(s, ",")
	if len(kv) != 3 {
		return 0, 0, 0, malformed("want parameters m, t and p")
	}
	var v [3]uint64
	for i, name := range [...]string{"m", "t", "p"} {
		bits := 32
		if name == "p" {
			bits = 8
		}
		num, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return 0, 0, 0, malformed("want parameters m, t and p")
		}
		if v[i], err = parseDecimal(num, bits); err != nil {
			return 0, 0, 0, err
		}
	}
	return uint32(v[0]), uint32(v[1]), uint8(v[2]), nil
}

// parseDecimal parses an unsigned decimal without sign or leading zeros.
func parseDecimal(s string, bits int) (uint64, error) {
	if len(s) > 1 && s[0] == '0' {
		return 0, malformed("leading zero in parameter")
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, malformed("bad parameter")
	}
	return n, nil
}

// decodeBase64 decodes unpadded standard base64, refusing any other
// spelling of the same bytes (padding, stray newlines, non-zero spare bits).
func decodeBase64(s string) ([]byte, error) {
	b64 := base64.RawStdEncoding
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodeToString(b) != s {
		return nil, malformed("bad base64")
	}
	return b, nil
}

func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, reason)
}
