package verify_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/verify"
	"github.com/golang-jwt/jwt/v5"
)

// Example verifies an access token with a key the service was configured
// with. The token is minted here only to keep the example self-contained;
// normally it comes from Gatehouse and from the Authorization header.
func Example() {
	seed := make([]byte, ed25519.SeedSize) // use the real key of your issuer
	priv := ed25519.NewKeyFromSeed(seed)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

	keys, err := verify.NewStaticKeySet(verify.Key{
		ID: "key-1", Algorithm: verify.EdDSA, Key: priv.Public(),
	})
	if err != nil {
		panic(err)
	}
	v, err := verify.New(context.Background(), verify.Config{
		Issuer:     "https://auth.example.com",
		Audience:   "orders-api",
		Algorithms: []string{verify.EdDSA},
		KeySet:     keys,
		Now:        func() time.Time { return now }, // omit to use time.Now
	})
	if err != nil {
		panic(err)
	}

	header := "Bearer " + mintExampleToken(priv, now)
	raw, err := verify.BearerToken(header)
	if err != nil {
		panic(err)
	}
	claims, err := v.Verify(context.Background(), raw)
	if err != nil {
		fmt.Println("401 Could not validate credentials:", err)
		return
	}
	fmt.Println(claims.Username, claims.Role, claims.ExpiresAt.Sub(now))

	now = now.Add(time.Hour)
	_, err = v.Verify(context.Background(), raw)
	fmt.Println(errors.Is(err, verify.ErrExpired))
	// Output:
	// alice admin 30m0s
	// true
}

// mintExampleToken signs a token as Gatehouse would.
func mintExampleToken(priv ed25519.PrivateKey, now time.Time) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": "https://auth.example.com", "aud": "orders-api", "sub": "42",
		"exp": now.Add(30 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"jti": "Yf3Qx0k2b5s9QmD8r1c7Zw", "sid": "s-1", "type": "access",
		"username": "alice", "role": "admin",
	})
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = "key-1"
	s, err := tok.SignedString(priv)
	if err != nil {
		panic(err)
	}
	return s
}

// ExampleBearerToken shows the errors of BearerToken.
func ExampleBearerToken() {
	for _, h := range []string{"Bearer abc.def.ghi", "", "Basic dXNlcjpwYXNz", "Bearer a b"} {
		tok, err := verify.BearerToken(h)
		fmt.Printf("%q %v\n", tok, err)
	}
	// Output:
	// "abc.def.ghi" <nil>
	// "" verify: no token
	// "" verify: no token
	// "" verify: malformed token
}

// ExampleVerifier_Middleware protects routes of a resource service: any
// valid token for GET /orders, the admin role for DELETE.
func ExampleVerifier_Middleware() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	keys, _ := verify.NewStaticKeySet(verify.Key{ID: "key-1", Algorithm: verify.EdDSA, Key: priv.Public()})
	v, err := verify.New(context.Background(), verify.Config{
		Issuer: "https://auth.example.com", Audience: "orders-api",
		Algorithms: []string{verify.EdDSA}, KeySet: keys, Now: func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "orders of", verify.ClaimsFrom(r.Context()).Username)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware(orders))
	mux.Handle("DELETE /orders", v.Middleware(verify.RequireRole("auditor", orders)))

	token := mintExampleToken(priv, now)
	for _, c := range []struct{ method, auth string }{
		{"GET", "Bearer " + token},
		{"GET", ""},
		{"DELETE", "Bearer " + token},
	} {
		req := httptest.NewRequest(c.method, "/orders", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 orders of alice
	// 401 {"detail":"Not authenticated"}
	// 403 {"detail":"Insufficient role: auditor required"}
}
