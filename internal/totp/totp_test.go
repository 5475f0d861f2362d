package totp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var rfcSecret = []byte("12345678901234567890")

// TestRFC6238 checks the SHA-1 vectors of RFC 6238 Appendix B: their
// 8-digit values end in our 6-digit codes.
func TestRFC6238(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		unix  int64
		step  int64
		eight string
	}{
		{59, 0x1, "94287082"},
		{1111111109, 0x23523EC, "07081804"},
		{1111111111, 0x23523ED, "14050471"},
		{1234567890, 0x273EF07, "89005924"},
		{2000000000, 0x3F940AA, "69279037"},
		{20000000000, 0x27BC86AA, "65353130"},
	} {
		step := StepAt(time.Unix(v.unix, 0))
		if step != v.step {
			t.Errorf("StepAt(%d) = %#x, want %#x", v.unix, step, v.step)
		}
		if got, want := Code(rfcSecret, step), v.eight[2:]; got != want {
			t.Errorf("Code at %d = %s, want %s", v.unix, got, want)
		}
	}
}

// TestRFC4226 checks the HOTP vectors of RFC 4226 Appendix D (counters 0-9).
func TestRFC4226(t *testing.T) {
	t.Parallel()
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := Code(rfcSecret, int64(i)); got != w {
			t.Errorf("Code(counter %d) = %s, want %s", i, got, w)
		}
	}
}

func TestStepAt(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(29, 999999999), 0},
		{time.Unix(30, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Unix(-30, 0), -1},
		{time.Unix(-31, 0), -2},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 5*3600)), (time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix() - 5*3600) / 30},
	} {
		if got := StepAt(v.t); got != v.want {
			t.Errorf("StepAt(%v) = %d, want %d", v.t, got, v.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := NewSecret(), NewSecret()
	if len(a) != SecretSize || len(b) != SecretSize {
		t.Fatalf("lengths %d, %d, want %d", len(a), len(b), SecretSize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two secrets are equal")
	}
	if e := Encode(a); len(e) != 32 || strings.ToUpper(e) != e || strings.Contains(e, "=") {
		t.Fatalf("Encode = %q, want 32 upper-case characters without padding", e)
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()
	// RFC 4648 §10 vectors, without their padding.
	for in, want := range map[string]string{
		"": "", "f": "MY", "fo": "MZXQ", "foo": "MZXW6", "foob": "MZXW6YQ",
		"fooba": "MZXW6YTB", "foobar": "MZXW6YTBOI",
	} {
		if got := Encode([]byte(in)); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Encode(rfcSecret); got != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Errorf("Encode(RFC secret) = %q", got)
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ":        "12345678901234567890",
		"gezdgnbvgy3tqojqgezdgnbvgy3tqojq":        "12345678901234567890",
		"gezd gnbv gy3t qojq gezd gnbv gy3t qojq": "12345678901234567890",
		"  GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n":    "12345678901234567890",
		"MZXW6YTBOI":                              "foobar",
		"MZXW6YTBOI======":                        "foobar",
		"mzxw 6ytb oi== ====":                     "foobar",
		"MY======":                                "f",
		"MZXW6===":                                "foo",
	}
	for in, want := range good {
		got, err := Decode(in)
		if err != nil || string(got) != want {
			t.Errorf("Decode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "   ", "====",
		"MZXW6YTBOI=",       // incomplete padding
		"MZXW6YTBOI=====",   // incomplete padding
		"MZXW6YTBOI=======", // too much padding
		"MZXW6YTBOI==============",
		"MZXW6YTBOI======MY======",
		"MZ=XW6YTBOI",      // padding inside
		"MZXW6YTBOI==A===", // data after padding
		"MZXW6YTBO1",       // 1 is not base32
		"MZXW6YTBO0",       // nor 0
		"MZXW6YTB-OI",      // nor -
		"MZXW6YTB\nOI",     // line breaks inside (encoding/base32 would skip them)
		"MZXW6YTB\tOI",
		"MZXW6YTBOİ", // non-ASCII letter
		"MZXW6YTBOı", // dotless i, which strings.ToUpper makes I
		"M",          // impossible lengths
		"MZX",
		"MZXW6Y",
		"MZ", "MZXR", // non-canonical: unused trailing bits set
		strings.Repeat("A", 257),
	}
	for _, in := range bad {
		if got, err := Decode(in); err == nil || !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("Decode(%q) = %q, %v; want ErrInvalidSecret", in, got, err)
		}
	}
	if _, err := Decode(strings.Repeat("A", 256)); err != nil {
		t.Errorf("Decode of 256 characters: %v", err)
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	now := time.Unix(1_700_000_015, 0)
	cur := StepAt(now)
	for d := int64(-1); d <= 1; d++ {
		code := Code(secret, cur+d)
		for _, typed := range []string{code, " " + code[:3] + " " + code[3:] + "\n", code[:3] + "-" + code[3:]} {
			step, ok := Match(secret, typed, now)
			if !ok || step != cur+d {
				t.Errorf("Match(code of step %+d as %q) = %d, %v; want %d, true", d, typed, step, ok, cur+d)
			}
		}
	}
	for _, d := range []int64{-3, -2, 2, 3} {
		code := Code(secret, cur+d)
		if code == Code(secret, cur-1) || code == Code(secret, cur) || code == Code(secret, cur+1) {
			continue // a collision (one in a million): the code is rightly accepted
		}
		if step, ok := Match(secret, code, now); ok {
			t.Errorf("Match(code of step %+d) = %d, true; want false", d, step)
		}
	}
	other := NewSecret()
	if step, ok := Match(other, Code(secret, cur), now); ok && Code(other, step) != Code(secret, cur) {
		t.Errorf("Match with another secret = %d, true", step)
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "١٢٣٤٥٦"} {
		if step, ok := Match(secret, bad, now); ok {
			t.Errorf("Match(%q) = %d, true", bad, step)
		}
	}
	// A wrong code: change one digit of the current code, making sure it
	// is no code of the window either.
	code := []byte(Code(secret, cur))
	for i := range 10 {
		code[5] = byte('0' + (int(code[5]-'0')+1+i)%10)
		w := string(code)
		if w == Code(secret, cur-1) || w == Code(secret, cur) || w == Code(secret, cur+1) {
			continue
		}
		if step, ok := Match(secret, w, now); ok {
			t.Errorf("Match(wrong code %s) = %d, true", w, step)
		}
		break
	}
}

// TestMatchSameCodeTwice checks that of two steps of the window with the
// same code, the later is returned. The secret was found by search: its
// codes of steps 0 and 1 are both 568819.
func TestMatchSameCodeTwice(t *testing.T) {
	t.Parallel()
	secret := []byte("collision-582384")
	if Code(secret, 0) != "568819" || Code(secret, 1) != "568819" {
		t.Fatalf("codes %s, %s; want 568819 twice", Code(secret, 0), Code(secret, 1))
	}
	for _, now := range []time.Time{time.Unix(15, 0), time.Unix(45, 0)} { // steps 0 and 1
		if step, ok := Match(secret, "568819", now); !ok || step != 1 {
			t.Errorf("Match at %v = %d, %v; want 1, true", now.Unix(), step, ok)
		}
	}
}

func TestParseCode(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"123456":        "123456",
		"000000":        "000000",
		"123 456":       "123456",
		"1 2 3 4 5 6":   "123456",
		"123  456":      "123456",
		"123-456":       "123456",
		"1-23456":       "123456",
		"12345-6":       "123456",
		" 123456 ":      "123456",
		"\t123-456\r\n": "123456",
		"\u00a0123456":  "123456", // white space around may be Unicode
	}
	for in, want := range good {
		if got, ok := ParseCode(in); !ok || got != want {
			t.Errorf("ParseCode(%q) = %q, %v; want %q, true", in, got, ok, want)
		}
	}
	bad := []string{
		"", " ", "12345", "1234567", "12345 67", "123456 7",
		"12a456", "abcdef", "12345a", "+123456", "123456.", "-123456", "123456-",
		"123--456", "12-34-56", "123 -456", "123- 456", "12 34-56",
		"123_456", "123.456", "123,456", "123\t456", "123\n456", "123\u00a0456",
		"١٢٣٤٥٦", // Arabic-Indic digits
		"１２３４５６", // full-width digits
		"123４56",
		"12345\x00", "\x00123456",
		strings.Repeat(" ", 27) + "123456", // 33 bytes
		strings.Repeat("1", 1<<20),
	}
	for _, in := range bad {
		if got, ok := ParseCode(in); ok {
			t.Errorf("ParseCode(%q) = %q, true; want false", in, got)
		}
	}
	if _, ok := ParseCode(strings.Repeat(" ", 26) + "123456"); !ok {
		t.Error("ParseCode refuses 32 bytes")
	}
}
