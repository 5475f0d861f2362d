package password

import (
	"errors"
	"fmt"
)

// Params are argon2id's parameters, plus the lengths of salt and key.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's recommended argon2id parameters: 19 MiB of
// memory, two passes, one lane, a 16-byte salt and a 32-byte key. Treat it
// as a constant: copy it to change a field.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters, both for a Hasher and for a stored hash: a hash
// outside them is refused rather than computed.
const (
	MaxMemory  = 1 << 20 // KiB, 1 GiB
	MaxTime    = 100
	MinSaltLen = 8 // RFC 9106's minimum
	MaxSaltLen = 64
	MinKeyLen  = 16 // passlib's default
	MaxKeyLen  = 64
)

// validate reports why p is unusable, or nil.
func (p Params) validate() error {
	switch {
	case p.Threads == 0:
		return errors.New("threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("memory must be between 8*threads and %d KiB", MaxMemory)
	case p.Time == 0 || p.Time > MaxTime:
		return fmt.Errorf("time must be between 1 and %d", MaxTime)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("salt length must be between %d and %d bytes", MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("key length must be between %d and %d bytes", MinKeyLen, MaxKeyLen)
	}
	return nil
}
