package auth

import (
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateEmail(t *testing.T) {
	for _, good := range []string{
		"alice@example.com", "Alice.Smith+tag@Example.COM", "a@b.co", "o'brien@example.ie",
		"user@sub.domain.example", "名前@例え.jp", "x@xn--bcher-kva.example",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + ".example",
	} {
		got, err := ValidateEmail(good)
		if err != nil || got != good {
			t.Errorf("ValidateEmail(%q) = %q, %v", good, got, err)
		}
	}
	if got, err := ValidateEmail("  alice@example.com "); err != nil || got != "alice@example.com" {
		t.Errorf("surrounding spaces: %q, %v", got, err)
	}
	for _, bad := range []string{
		"", "alice", "alice@", "@example.com", "alice@localhost", "alice@[192.0.2.1]", "Alice <alice@example.com>",
		"alice@example.com, bob@example.com", "alice@example.com (comment)", "al ice@example.com", "alice@exa mple.com",
		"alice@-example.com", "alice@example-.com", "alice@example..com", "alice@.example.com", "alice\x00@example.com",
		"alice@example.com\r\nBcc: x@y.z", "\xff@example.com", "a@b.c\u202e", "\"\"@example.com",
		strings.Repeat("a", 65) + "@example.com", "a@" + strings.Repeat("b", 64) + ".example",
		strings.Repeat("a", 60) + "@" + strings.Repeat("b.", 100) + "example",
	} {
		if got, err := ValidateEmail(bad); err == nil || ErrorCode(err) != EInvalid {
			t.Errorf("ValidateEmail(%q) = %q, %v; want EInvalid", bad, got, err)
		}
	}
}

func TestEmailKey(t *testing.T) {
	if EmailKey("Alice@Example.COM") != EmailKey("alice@example.com") {
		t.Fatal("case is not folded")
	}
	if EmailKey("alice@example.com") == EmailKey("alice2@example.com") {
		t.Fatal("different addresses share a key")
	}
	if got := Redacted("alice@example.com"); got != "a***@example.com" {
		t.Fatalf("Redacted = %q", got)
	}
}

// FuzzValidateEmail: what ValidateEmail accepts is one bare address that
// net/mail reads back unchanged, within the length limits, of clean text,
// and accepted again as it is (so a stored address never fails later);
// it never panics.
func FuzzValidateEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", "A <a@b.c>", "a@b", "\"x y\"@example.com", "a@b.c\x00", "名前@例え.jp", "a@[1.2.3.4]", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, err := ValidateEmail(s)
		if err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("%q: error code %s", s, ErrorCode(err))
			}
			return
		}
		if len(addr) > MaxEmailLen || !utf8.ValidString(addr) || !StorableText(addr) || strings.ContainsAny(addr, " \r\n\t<>,") {
			t.Fatalf("accepted %q", addr)
		}
		p, err := mail.ParseAddress(addr)
		if err != nil || p.Address != addr || p.Name != "" {
			t.Fatalf("accepted %q, which net/mail reads as %v, %v", addr, p, err)
		}
		if again, err := ValidateEmail(addr); err != nil || again != addr {
			t.Fatalf("%q accepted once, then %q, %v", addr, again, err)
		}
		if EmailKey(EmailKey(addr)) != EmailKey(addr) {
			t.Fatalf("EmailKey is not idempotent on %q", addr)
		}
	})
}

// TestKeysFoldCherokee: Cherokee capitals and small letters share a key,
// and a key is its own key (golang.org/x/text's Fold swaps the two cases).
func TestKeysFoldCherokee(t *testing.T) {
	for _, pair := range [][2]string{{"Ꮝ@很.0", "ꮝ@很.0"}, {"Ᏸ@x.org", "ᏸ@x.org"}} {
		if a, b := EmailKey(pair[0]), EmailKey(pair[1]); a != b || EmailKey(a) != a {
			t.Errorf("EmailKey(%q) = %q, EmailKey(%q) = %q, EmailKey(%q) = %q", pair[0], a, pair[1], b, a, EmailKey(a))
		}
		if a, b := UsernameKey(pair[0]), UsernameKey(pair[1]); a != b || UsernameKey(a) != a {
			t.Errorf("UsernameKey(%q) = %q, UsernameKey(%q) = %q", pair[0], a, pair[1], b)
		}
	}
}
