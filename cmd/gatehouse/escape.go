package main

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// printable makes s safe to print on a terminal: it escapes every
// character that could move the cursor, end or fake a line, recolour or
// reorder text, or hide itself (C0 and C1 controls such as ESC, CR, LF
// and TAB; line and paragraph separators; format characters such as the
// bidirectional overrides and zero-width characters), invalid UTF-8, and
// the backslash itself, so that an escape cannot be forged either. Every
// human-readable printer of the CLI passes what comes from the database, a
// token or a request through it; a username or user agent holding
// "\x1b[2K\r...login.succeeded alice" prints as that text, on its row.
func printable(s string) string { return escape(s, true) }

// printableLines is for text whose own line breaks are meant, such as
// indented JSON or a list of errors: each line is escaped and the "\n"
// between them kept. Backslashes are left alone, as JSON's own escapes
// must read as they are (JSON cannot hold a raw control character, so
// none can be forged).
func printableLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escape(l, false)
	}
	return strings.Join(lines, "\n")
}

// escape writes the unsafe characters of s as Go escapes, and the
// backslash as \\ if backslash.
func escape(s string, backslash bool) string {
	if !needsEscape(s, backslash) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\' && backslash:
			b.WriteString(`\\`)
		case !unsafeRune(r):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string, backslash bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || (r == '\\' && backslash) || unsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// unsafeRune reports whether r may act on a terminal or on how text is
// laid out, instead of showing as itself.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) ||
		(r != ' ' && unicode.IsSpace(r)) || r == utf8.RuneError
}

// cells escapes each value of a table row.
func cells(vs ...string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = printable(v)
	}
	return out
}

// jsonWriter writes JSON with every character that unsafeRune flags as a
// \u escape. encoding/json escapes C0 controls but writes C1 controls
// (U+009B is CSI), the bidirectional overrides and zero-width characters
// as they are. Outside strings JSON has none of them, so the escapes land
// only inside strings, where they mean the same characters. Each Write
// must hold whole characters, as a json.Encoder's (one value and its
// newline each) do.
type jsonWriter struct{ w io.Writer }

func (j jsonWriter) Write(p []byte) (int, error) {
	var b strings.Builder
	for _, r := range string(p) {
		if r == '\n' || !unsafeRune(r) { // a raw "\n" only ends a value
			b.WriteRune(r)
			continue
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		} else {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	if _, err := io.WriteString(j.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}
