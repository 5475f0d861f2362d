package password

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Hashes made by Python passlib 1.7.4 with the bcrypt 3.2.2 backend, pasted
// as literals so that the tests need no Python.
const (
	// CryptContext(schemes=["bcrypt"]).hash("secret123"), as in the tutorial.
	passlibTutorial = "$2b$12$w9BGmzQy9dD7QNmdsoDJ7OfifrQ.S17JeDoSZHbafNNlhDHCcU71K"
	// CryptContext(schemes=["bcrypt"], bcrypt__ident=..., bcrypt__rounds=4).hash("secret123")
	passlibBcrypt2a = "$2a$04$AtD5bedFwRkzrT3A0aOED.C43fZ4qsE6eORekoQhAySLnjQOBi1hO"
	passlibBcrypt2b = "$2b$04$pTcseA7Kf2n4JFu49rWDC.BiHYobA7Uo9npnha3MtoO4i/z3RjIF2"
	passlibBcrypt2y = "$2y$04$Jin2OxTIgwBF2yuatdsuFeGn5/9FiBx4aeDYqbm4Ju7Q...yBPKOO"
	// ...hash("x"*72 + "tail-ignored-by-bcrypt"): passlib truncates to 72 bytes.
	passlibLong = "$2b$04$.iCo117j9xzoCDTXv4zD4ObzqzJyEw7FArAEIxKOVZxnp1oAw4h9O"
	// ...hash("y"*72)
	passlibExact72 = "$2b$04$P1yhYCPoKFBCWWC0XDxoaugPajZdm1P8E2PuwIGRSQv8ik4Atgvaa"
	// ...hash("pässwörd-ü€")
	passlibUnicode = "$2b$04$LV6nNjTCTTtInnuQyaPtwuf9Ltp3CuwhvoyRVKFS5lx91kEKfDBYq"
)

func TestBcryptPasslib(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 0)
	for _, tc := range []struct{ name, hash, password string }{
		{"2a", passlibBcrypt2a, "secret123"},
		{"2b", passlibBcrypt2b, "secret123"},
		{"2y", passlibBcrypt2y, "secret123"},
		{"unicode", passlibUnicode, "pässwörd-ü€"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertVerify(t, h, tc.password, tc.hash, true, true)
			assertVerify(t, h, tc.password+"!", tc.hash, false, false)
			assertVerify(t, h, "", tc.hash, false, false)
		})
	}
}

// The tutorial's hash has passlib's default cost 12, about 0.3 s a check
// (4 s under the race detector): check it once.
func TestBcryptPasslibTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("cost-12 bcrypt is slow")
	}
	h := newTestHasher(t, testParams(), 1, 0)
	assertVerify(t, h, "secret123", passlibTutorial, true, true)
}

func TestBcryptGoGenerated(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 0)
	b, err := bcrypt.GenerateFromPassword([]byte("secret123"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	enc := string(b)
	if !strings.HasPrefix(enc, "$2a$04$") {
		t.Fatalf("x/crypto hash %q: expected $2a$", enc)
	}
	// The variants differ only in the bugs of other implementations, so the
	// same salt and digest verify under every accepted prefix.
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		variant := prefix + enc[4:]
		assertVerify(t, h, "secret123", variant, true, true)
		assertVerify(t, h, "secret124", variant, false, false)
	}
}

// Bcrypt reads only the first 72 bytes of a password; Verify keeps that rule.
func TestBcryptLongPassword(t *testing.T) {
	h := newTestHasher(t, testParams(), 1, 0)
	x72 := strings.Repeat("x", 72)
	assertVerify(t, h, x72+"tail-ignored-by-bcrypt", passlibLong, true, true)
	assertVerify(t, h, x72, passlibLong, true, true)
	assertVerify(t, h, x72+"another tail", passlibLong, true, true)
	assertVerify(t, h, strings.Repeat("x", 71), passlibLong, false, false)
	assertVerify(t, h, strings.Repeat("x", 71)+"y"+"tail-ignored-by-bcrypt", passlibLong, false, false)

	y72 := strings.Repeat("y", 72)
	assertVerify(t, h, y72, passlibExact72, true, true)
	assertVerify(t, h, y72+strings.Repeat("z", 1000), passlibExact72, true, true)
	assertVerify(t, h, y72[:71], passlibExact72, false, false)
}
