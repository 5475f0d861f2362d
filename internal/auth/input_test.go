package auth

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
)

func TestValidUserID(t *testing.T) {
	id := uuid.Must(uuid.NewV7()).String()
	if !ValidUserID(id) {
		t.Fatalf("ValidUserID(%q) = false", id)
	}
	for _, bad := range []string{
		"", "abc", "abc\x00", strings.ToUpper(id), "{" + id + "}", "urn:uuid:" + id,
		strings.ReplaceAll(id, "-", ""), id + "\x00", id[:35] + "\xff",
	} {
		if ValidUserID(bad) {
			t.Errorf("ValidUserID(%q) = true", bad)
		}
	}
}

func TestValidSessionID(t *testing.T) {
	good := "AAECAwQFBgcICQoLDA0ODw" // 16 bytes, base64url
	if !ValidSessionID(good) || !ValidTokenID(good) {
		t.Fatalf("ValidSessionID(%q) = false", good)
	}
	for _, bad := range []string{
		"", "abc", "AAECAwQFBgcICQoLDA0ODx", // stray bits in the last character
		"AAECAwQFBgcICQoLDA0OD+", "AAECAwQFBgcICQoLDA0OD\x00", "AAECAwQFBgcICQoLDA0ODw=",
		"AAECAwQFBgcICQoLDA0ODwAA",
	} {
		if ValidSessionID(bad) {
			t.Errorf("ValidSessionID(%q) = true", bad)
		}
	}
}

func TestValidateText(t *testing.T) {
	if err := ValidateText("user", "Zoë 山田 alice@example.com", 256); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"a\x00", "a\xff", "a\nb", "a\u0085b", strings.Repeat("a", 257)} {
		if err := ValidateText("user", bad, 256); ErrorCode(err) != EInvalid {
			t.Errorf("ValidateText(%q) = %v, want EInvalid", bad, err)
		}
	}
}

func TestCleanText(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"curl/8.5", 256, "curl/8.5"},
		{"a\x00b", 256, "a\uFFFDb"},
		{"a\xffb", 256, "a\uFFFDb"},
		{"a\r\nb", 256, "a\uFFFD\uFFFDb"},
		{"Zoë", 256, "Zoë"},
		{"abë", 3, "ab"}, // 3 bytes end inside ë
		{"abcdef", 3, "abc"},
		{"ab\xff", 3, "ab"},         // U+FFFD is 3 bytes
		{"a\x7fb", 256, "a\uFFFDb"}, // DEL is a control character
		{"a\tb", 256, "a\uFFFDb"},
		{"Mozilla/5.0 (X11; Linux x86_64) ~", 256, "Mozilla/5.0 (X11; Linux x86_64) ~"},
		{"\u0085x", 256, "\uFFFDx"}, // a C1 control character
	} {
		got := CleanText(c.in, c.max)
		if got != c.want {
			t.Errorf("CleanText(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
		if !utf8.ValidString(got) || !StorableText(got) {
			t.Errorf("CleanText(%q) = %q is not storable", c.in, got)
		}
	}
}
