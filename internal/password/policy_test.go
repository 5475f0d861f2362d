package password

import (
	"strings"
	"testing"
)

func TestValidatePolicy(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		want           error
	}{
		{"empty", "", ErrTooShort},
		{"7 chars", "1234567", ErrTooShort},
		{"8 chars", "k3#vq9!z", nil},
		{"common", "12345678", ErrCommon},
		{"common, other case", "PassWord123", ErrCommon},
		{"common phrase", "iloveyou", ErrCommon},
		{"64-char passphrase", strings.Repeat("correct horse battery staple ", 3)[:64], nil},
		{"8 runes, 16 bytes", "ääääääää", nil},
		{"7 runes, 14 bytes", "äääääää", ErrTooShort},
		{"4 runes, 16 bytes", "😀😀😀😀", ErrTooShort},
		{"1024 bytes", strings.Repeat("a", MaxBytes), nil},
		{"no composition rules: all lower-case letters", "thunderous avocado", nil},
		{"1025 bytes", strings.Repeat("a", MaxBytes+1), ErrTooLong},
		{"1026 bytes, 513 runes", strings.Repeat("ä", 513), ErrTooLong},
	} {
		if got := ValidatePolicy(tc.password); got != tc.want {
			t.Errorf("%s: ValidatePolicy = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Callers show the text as it is.
	if got := ErrTooShort.Error(); got != "password must be at least 8 characters" {
		t.Errorf("ErrTooShort text %q", got)
	}
	if got := ErrTooLong.Error(); got != "password must be at most 1024 bytes" {
		t.Errorf("ErrTooLong text %q", got)
	}
}

func TestCommonListIsSortedAndWhole(t *testing.T) {
	l := commonList()
	if len(l) < 10000 {
		t.Fatalf("common list has %d entries", len(l))
	}
	for i, p := range l {
		if p != strings.ToLower(p) || len(p) < MinChars {
			t.Fatalf("entry %d %q is not lower-case or is too short", i, p)
		}
		if i > 0 && l[i-1] >= p {
			t.Fatalf("entries %d and %d out of order: %q, %q", i-1, i, l[i-1], p)
		}
	}
	// Every entry is found, so a binary search never misses one.
	for _, p := range l {
		if !IsCommon(p) || !IsCommon(strings.ToUpper(p)) {
			t.Fatalf("IsCommon(%q) = false", p)
		}
	}
}

func BenchmarkIsCommon(b *testing.B) {
	commonList()
	for b.Loop() {
		IsCommon("Tr0ub4dor&3xyz")
	}
}
