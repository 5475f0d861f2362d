package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

// BenchmarkVerify measures Verify on a valid token of each algorithm.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			v := newVerifier(b, func(c *Config) { c.Algorithms = []string{alg} })
			tok := good(alg)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRaw is the floor Verify is measured against: base64-decode the
// three segments, decode header and payload into small structs, check the
// signature with the crypto primitive. No other check.
func BenchmarkRaw(b *testing.B) {
	checks := rawChecks(loadFixture())
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			tok := good(alg)
			b.ReportAllocs()
			for b.Loop() {
				if !rawVerify(tok, checks[alg]) {
					b.Fatal("raw verification failed")
				}
			}
		})
	}
}

// BenchmarkRatio alternates blocks of Verify and of the raw floor and
// reports their time ratio, which (unlike two separate benchmarks) stays
// meaningful on a machine shared with other work.
func BenchmarkRatio(b *testing.B) {
	checks := rawChecks(loadFixture())
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			v := newVerifier(b, func(c *Config) { c.Algorithms = []string{alg} })
			tok := good(alg)
			ctx := context.Background()
			var verify, raw time.Duration
			const block = 16
			for b.Loop() {
				start := time.Now()
				for range block {
					if _, err := v.Verify(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
				mid := time.Now()
				for range block {
					if !rawVerify(tok, checks[alg]) {
						b.Fatal("raw verification failed")
					}
				}
				verify, raw = verify+mid.Sub(start), raw+time.Since(mid)
			}
			b.ReportMetric(float64(verify)/float64(raw), "verify/raw")
			b.ReportMetric(float64(verify)/float64(b.N*block), "verify-ns/op")
			b.ReportMetric(float64(raw)/float64(b.N*block), "raw-ns/op")
		})
	}
}

// rawChecks returns the bare signature check of each algorithm.
func rawChecks(f *fixture) map[string]func(input string, sig []byte) bool {
	return map[string]func(input string, sig []byte) bool{
		ES256: func(input string, sig []byte) bool {
			d := sha256.Sum256([]byte(input))
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(&f.es.key.(*ecdsa.PrivateKey).PublicKey, d[:], r, s)
		},
		EdDSA: func(input string, sig []byte) bool {
			return ed25519.Verify(f.ed.key.(ed25519.PrivateKey).Public().(ed25519.PublicKey), []byte(input), sig)
		},
		RS256: func(input string, sig []byte) bool {
			d := sha256.Sum256([]byte(input))
			return rsa.VerifyPKCS1v15(&f.rs.key.(*rsa.PrivateKey).PublicKey, crypto.SHA256, d[:], sig) == nil
		},
		HS256: func(input string, sig []byte) bool {
			m := hmac.New(sha256.New, f.hs.key.([]byte))
			m.Write([]byte(input))
			return hmac.Equal(m.Sum(nil), sig)
		},
	}
}

type rawHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type rawPayload struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Jti      string `json:"jti"`
	Sid      string `json:"sid"`
	Type     string `json:"type"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

func rawVerify(tok string, check func(string, []byte) bool) bool {
	h, rest, _ := strings.Cut(tok, ".")
	p, s, _ := strings.Cut(rest, ".")
	hb, err1 := b64.DecodeString(h)
	pb, err2 := b64.DecodeString(p)
	sig, err3 := b64.DecodeString(s)
	var hdr rawHeader
	var pl rawPayload
	err4 := json.Unmarshal(hb, &hdr)
	err5 := json.Unmarshal(pb, &pl)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil {
		return false
	}
	return check(tok[:len(h)+1+len(p)], sig)
}
