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
		{"8 chars", "12345678", nil},
		{"8 runes, 16 bytes", "ääääääää", nil},
		{"7 runes, 14 bytes", "äääääää", ErrTooShort},
		{"4 runes, 16 bytes", "😀😀😀😀", ErrTooShort},
		{"1024 bytes", strings.Repeat("a", MaxBytes), nil},
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
