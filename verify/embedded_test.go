package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestKeysNamedByTheTokenAreIgnored signs tokens with an attacker's key
// and names that key in every way JWS allows. A server counts the fetches:
// there must be none.
func TestKeysNamedByTheTokenAreIgnored(t *testing.T) {
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := with(ecJWK(&attacker.PublicKey), "kid", "attacker")
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(mustJSON(map[string]any{"keys": []any{jwk}}))
	}))
	defer srv.Close()
	cert := selfSigned(t, attacker)
	named := map[string]any{
		"jwk": jwk,
		"jku": srv.URL + "/jwks.json",
		"x5u": srv.URL + "/cert.pem",
		"x5c": []string{base64.StdEncoding.EncodeToString(cert)},
	}
	v := newVerifier(t, nil)
	for name, value := range named {
		for _, kid := range []string{"attacker", "es-1"} {
			t.Run(name+" kid "+kid, func(t *testing.T) {
				s := signing{ES256, kid, attacker}
				tok := mint(s, with(goodHeader(s), name, value), goodClaims())
				_, err := v.Verify(context.Background(), tok)
				if kid == "attacker" {
					assertIs(t, err, ErrUnknownKey)
				} else {
					assertIs(t, err, ErrSignature)
				}
			})
		}
	}
	all := with(goodHeader(signing{ES256, "es-1", attacker}), "jwk", jwk, "jku", named["jku"], "x5u", named["x5u"], "x5c", named["x5c"])
	_, err := v.Verify(context.Background(), mint(signing{ES256, "es-1", attacker}, all, goodClaims()))
	assertIs(t, err, ErrSignature)
	if n := fetches.Load(); n != 0 {
		t.Fatalf("the verifier fetched %d times from a URL named by a token", n)
	}
}

func selfSigned(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
