// Package seal encrypts secrets kept at rest (signing keys, TOTP secrets)
// with AES-256-GCM under the key of GATEHOUSE_ENCRYPTION_KEY. A sealed blob
// names the key that sealed it, so the key can be rotated: old keys still
// open what they sealed, and a reseal moves everything to the new key.
//
// A blob is:
//
//	"GHS" | version (1) | key id (8) | nonce (12) | ciphertext and tag (≥16)
//
// The key id is the first 8 bytes of SHA-256 over a label and the key; the
// header and the caller's associated data (the row's id) are authenticated,
// so a blob copied to another row does not open.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// KeySize is the length of an encryption key in bytes.
const KeySize = 32

const (
	magic      = "GHS"
	version1   = 1
	keyIDSize  = 8
	nonceSize  = 12
	tagSize    = 16
	headerSize = len(magic) + 1 + keyIDSize
	// Overhead is how many bytes a blob is longer than its plaintext.
	Overhead = headerSize + nonceSize + tagSize
)

var (
	// ErrKeyNotConfigured means the blob was sealed with a key that is
	// neither the current key nor one of the old keys (or that no key is
	// configured at all).
	ErrKeyNotConfigured = errors.New("sealed with an encryption key that is not configured")
	// ErrAuthentication means the key named by the blob did not open it:
	// the blob, or the row it was moved to, was tampered with.
	ErrAuthentication = errors.New("authentication failed: the sealed data was tampered with or belongs to another row")
	// ErrMalformed means the bytes are not a sealed blob of a known version.
	ErrMalformed = errors.New("not a sealed blob of a known version")
)

// KeyID names a key in the blobs it seals.
type KeyID [keyIDSize]byte

// String is the key id in hex, for messages; it reveals nothing of the key.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// IDOf derives the key id of key.
func IDOf(key []byte) KeyID {
	h := sha256.New()
	h.Write([]byte("gatehouse seal key id\x00"))
	h.Write(key)
	var id KeyID
	copy(id[:], h.Sum(nil))
	return id
}

// Sealer seals with its primary key and opens with the primary key or any
// old key. A nil *Sealer seals nothing and opens no blob. It is safe for
// concurrent use.
type Sealer struct {
	primary KeyID
	aeads   map[KeyID]cipher.AEAD
}

// New returns a Sealer that seals with primary and also opens blobs sealed
// with any of old. Every key must be KeySize bytes.
func New(primary []byte, old ...[]byte) (*Sealer, error) {
	s := &Sealer{aeads: make(map[KeyID]cipher.AEAD, 1+len(old))}
	for i, k := range append([][]byte{primary}, old...) {
		if len(k) != KeySize {
			return nil, fmt.Errorf("seal: key %d is %d bytes, want %d", i, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		id := IDOf(k)
		if i == 0 {
			s.primary = id
		}
		if _, dup := s.aeads[id]; !dup {
			s.aeads[id] = aead
		}
	}
	return s, nil
}

// Primary returns the id of the key that Seal uses.
func (s *Sealer) Primary() KeyID { return s.primary }

// Seal encrypts plaintext under the primary key, bound to aad.
func (s *Sealer) Seal(aad, plaintext []byte) ([]byte, error) {
	if s == nil {
		return nil, ErrKeyNotConfigured
	}
	out := make([]byte, headerSize+nonceSize, Overhead+len(plaintext))
	copy(out, magic)
	out[len(magic)] = version1
	copy(out[len(magic)+1:], s.primary[:])
	nonce := out[headerSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aeads[s.primary].Seal(out, nonce, plaintext, additional(out[:headerSize], aad)), nil
}

// Open decrypts a blob made by Seal with the same aad. It returns
// ErrMalformed for bytes that are not a blob, ErrKeyNotConfigured (wrapped,
// naming the key id) when the blob's key is unknown, and ErrAuthentication
// when the key is known but the blob does not open.
func (s *Sealer) Open(aad, blob []byte) ([]byte, error) {
	b, err := Parse(blob)
	if err != nil {
		return nil, err
	}
	var aead cipher.AEAD
	if s != nil {
		aead = s.aeads[b.KeyID]
	}
	if aead == nil {
		return nil, fmt.Errorf("key id %s: %w", b.KeyID, ErrKeyNotConfigured)
	}
	plain, err := aead.Open(nil, b.nonce, b.ciphertext, additional(blob[:headerSize], aad))
	if err != nil {
		return nil, ErrAuthentication
	}
	return plain, nil
}

// SealedWithPrimary reports whether blob is a blob sealed under the primary
// key (that is, a reseal would not change its key).
func (s *Sealer) SealedWithPrimary(blob []byte) bool {
	b, err := Parse(blob)
	return err == nil && s != nil && b.KeyID == s.primary
}

// additional is what GCM authenticates besides the ciphertext: the header,
// then the caller's data.
func additional(header, aad []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(aad)), header...), aad...)
}

// Blob is a parsed sealed blob.
type Blob struct {
	KeyID      KeyID
	nonce      []byte
	ciphertext []byte
}

// Parse splits a sealed blob into its parts without opening it.
func Parse(blob []byte) (Blob, error) {
	if len(blob) < Overhead || !bytes.HasPrefix(blob, []byte(magic)) || blob[len(magic)] != version1 {
		return Blob{}, ErrMalformed
	}
	var b Blob
	copy(b.KeyID[:], blob[len(magic)+1:headerSize])
	b.nonce = blob[headerSize : headerSize+nonceSize]
	b.ciphertext = blob[headerSize+nonceSize:]
	return b, nil
}

// IsSealed reports whether data looks like a sealed blob (it starts with the
// blob's magic bytes) rather than stored plaintext such as PKCS #8 DER,
// which starts with 0x30.
func IsSealed(data []byte) bool { return bytes.HasPrefix(data, []byte(magic)) }
