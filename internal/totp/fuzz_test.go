package totp

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "123-456", " 123456\n", "12-34-56", "١٢٣٤٥٦", "1234567", "", strings.Repeat("9", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseCode(s)
		if !ok {
			if got != "" {
				t.Fatalf("ParseCode(%q) = %q, false", s, got)
			}
			return
		}
		if len(s) > maxCodeInput {
			t.Fatalf("ParseCode accepted %d bytes", len(s))
		}
		if len(got) != Digits {
			t.Fatalf("ParseCode(%q) = %q", s, got)
		}
		var digits strings.Builder
		for i := 0; i < len(s); i++ {
			if '0' <= s[i] && s[i] <= '9' {
				digits.WriteByte(s[i])
			}
		}
		if digits.String() != got {
			t.Fatalf("ParseCode(%q) = %q, not the input's digits %q", s, got, digits.String())
		}
		if again, ok := ParseCode(got); !ok || again != got {
			t.Fatalf("ParseCode(%q) = %q, %v", got, again, ok)
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "mzxw 6ytb oi== ====", "MY======", "MZ", "M", "MZXW6YTBOI=======", "MZXW6YTBOİ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secret, err := Decode(s)
		if err != nil {
			if secret != nil {
				t.Fatalf("Decode(%q) = %x and %v", s, secret, err)
			}
			return
		}
		if len(secret) == 0 {
			t.Fatalf("Decode(%q) is empty", s)
		}
		norm := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
		if Encode(secret) != strings.TrimRight(norm, "=") {
			t.Fatalf("Decode(%q) = %x, which encodes as %q", s, secret, Encode(secret))
		}
		back, err := Decode(Encode(secret))
		if err != nil || !bytes.Equal(back, secret) {
			t.Fatalf("Decode(Encode(%x)) = %x, %v", secret, back, err)
		}
	})
}
