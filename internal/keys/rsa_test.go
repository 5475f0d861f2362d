package keys

import (
	"crypto/rsa"
	"math/big"
)

func parseRSA(n, e string) (*rsa.PublicKey, error) {
	nb, err := b64.DecodeString(n)
	if err != nil {
		return nil, err
	}
	eb, err := b64.DecodeString(e)
	if err != nil {
		return nil, err
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}, nil
}
