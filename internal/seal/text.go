package seal

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// TextPrefix starts a sealed blob kept in a text column: the prefix, then
// the blob in unpadded base64.
const TextPrefix = "sealed:"

// Sealing seals and opens blobs (a *Sealer, or a consumer's interface of
// it).
type Sealing interface {
	Seal(aad, plaintext []byte) ([]byte, error)
	Open(aad, blob []byte) ([]byte, error)
}

// SealText seals plaintext with s, bound to aad, in text form.
func SealText(s Sealing, aad, plaintext []byte) (string, error) {
	blob, err := s.Seal(aad, plaintext)
	if err != nil {
		return "", err
	}
	return TextPrefix + base64.RawStdEncoding.EncodeToString(blob), nil
}

// TextBlob returns the blob of a value SealText made; sealed is false for
// text that is not one (without TextPrefix).
func TextBlob(text string) (blob []byte, sealed bool, err error) {
	enc, ok := strings.CutPrefix(text, TextPrefix)
	if !ok {
		return nil, false, nil
	}
	blob, err = base64.RawStdEncoding.DecodeString(enc)
	if err != nil {
		return nil, true, fmt.Errorf("seal: a sealed text value: %w", err)
	}
	return blob, true, nil
}
