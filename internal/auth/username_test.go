package auth

import (
	"strings"
	"testing"
)

func TestUsernameSkeletonConfusables(t *testing.T) {
	same := [][2]string{
		{"alice", "аlice"}, // Cyrillic а
		{"alice", "alıce"}, // dotless ı
		{"alice", "ALİCE"}, // dotted capital İ folds to i + U+0307
		{"alice", "ALICE"},
		{"alice", "ａｌｉｃｅ"}, // fullwidth
		{"paypal", "pаypаl"},
		{"admin", "adrnin"}, // rn looks like m
		{"bob0", "bobo"},
		{"a1ice", "alice"},
		{"еxample", "example"}, // Cyrillic е
	}
	for _, p := range same {
		if a, b := UsernameSkeleton(p[0]), UsernameSkeleton(p[1]); a != b {
			t.Errorf("skeletons of %q and %q differ: %q, %q", p[0], p[1], a, b)
		}
	}
	different := [][2]string{
		{"alice", "alicia"},
		{"bob", "rob"},
		{"山田", "山本"},
	}
	for _, p := range different {
		if a, b := UsernameSkeleton(p[0]), UsernameSkeleton(p[1]); a == b {
			t.Errorf("skeletons of %q and %q are both %q", p[0], p[1], a)
		}
	}
}

func TestValidateUsernameRefuses(t *testing.T) {
	for _, name := range []string{
		"",
		strings.Repeat("a", MaxUsernameLen+1),
		"x\x00",
		"a\xffb",                               // invalid UTF-8
		"tab\tname",                            // control character
		"bell\u0007",                           // control character
		"a b",                                  // space
		"ali<ce>",                              // not in the alphabet
		"аlice",                                // Latin and Cyrillic
		"pаypal",                               // Latin and Cyrillic
		"Ωmega",                                // Greek and Latin
		"Ωμέγαx",                               // Greek and Latin
		"0190b3a4-7d3c-7c1e-9a2b-3c4d5e6f7a8b", // a UUID
		"0190B3A4-7D3C-7C1E-9A2B-3C4D5E6F7A8B", // upper case
		"0190b3a47d3c7c1e9a2b3c4d5e6f7a8b",     // without hyphens
		"０１９０ｂ３ａ４－７ｄ３ｃ－７ｃ１ｅ－９ａ２ｂ－３ｃ４ｄ５ｅ６ｆ７ａ８ｂ", // fullwidth, NFKC makes it a UUID
	} {
		if err := ValidateUsername(name); ErrorCode(err) != EInvalid {
			t.Errorf("ValidateUsername(%q) = %v, want EInvalid", name, err)
		}
	}
}

func TestValidateUsernameAllows(t *testing.T) {
	for _, name := range []string{
		"alice", "Bob_the.builder-2", "carol@example.com", "josé", "Zoë",
		"Ωμέγα",    // Greek alone
		"山田",       // Han
		"山田たろう",    // Han and Hiragana: Japanese
		"yamada山田", // Latin and Han
		"김철수",      // Hangul
		"иван",     // Cyrillic alone
		"ＡＬＩＣＥ",    // fullwidth Latin, NFKC-normalized
		"0190b3a4", // hex, but no UUID
		strings.Repeat("a", MaxUsernameLen),
	} {
		if err := ValidateUsername(name); err != nil {
			t.Errorf("ValidateUsername(%q) = %v", name, err)
		}
	}
}
