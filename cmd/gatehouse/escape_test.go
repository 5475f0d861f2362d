package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// forged is a name that, printed raw, erases its own row and prints a
// fake one: ESC sequences, CR and LF, a Unicode line separator, bidi
// overrides and isolates, a zero-width space, a C1 control (CSI), a tab
// and a byte that is not UTF-8.
const forged = "mallory\x1b[2K\x1b[1A\r\n2026-01-02T03:04:05Z  login.succeeded  alice\u2028\u202egnp.exe\u2066x\u2069\u200b\u0085\u009b31m\t\xff\\x1b"

// rawControls lists what a terminal may act on, found in out besides the
// line breaks and (if tabs) tabs that the printer writes itself.
func rawControls(out string, tabs bool) []rune {
	var bad []rune
	for _, r := range out {
		if r == '\n' || (tabs && r == '\t') {
			continue
		}
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) || r == '\uFFFD' {
			bad = append(bad, r)
		}
	}
	return bad
}

func TestPrintableEscapesWhatATerminalActsOn(t *testing.T) {
	got := printable(forged)
	if bad := rawControls(got, false); len(bad) > 0 || strings.ContainsAny(got, "\n\t") {
		t.Fatalf("printable(%q) = %q still holds %q", forged, got, bad)
	}
	for _, want := range []string{`\x1b[2K`, `\r\n`, `\u2028`, `\u202e`, `\u2066`, `\u200b`, `\u0085`, `\u009b`, `\t`, `\xff`, `\\x1b`} {
		if !strings.Contains(got, want) {
			t.Errorf("printable(%q) = %q, want it to show %s", forged, got, want)
		}
	}
	for _, s := range []string{"alice", "Zoë Łukasz 東京 🙂", "192.0.2.1", "login.failed: wrong password", ""} {
		if got := printable(s); got != s {
			t.Errorf("printable(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestAuditTableCannotBeForged(t *testing.T) {
	c := newCLI(t)
	c.ok("", "migrate")
	st, err := sqlstore.Open(context.Background(), c.env["GATEHOUSE_DATABASE_URL"], sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The row as the server's recorder would write it from a login.
	e := audit.New(st, nil, 0).Prepare(auth.Origin{}, auth.AuditEvent{Event: auth.AuditEventName("login.failed"), Username: forged,
		IP: "198.51.100.7", UserAgent: forged, Detail: "wrong password " + forged})
	if err := st.RecordAudit(context.Background(), &e); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out := c.ok("", "audit", "--event", "login.failed")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "login.failed") || !strings.Contains(lines[1], "198.51.100.7") {
		t.Fatalf("want the header and one row, got %d lines:\n%s", len(lines), out)
	}
	if bad := rawControls(out, false); len(bad) > 0 {
		t.Fatalf("audit printed raw %q:\n%q", bad, out)
	}
	if strings.Index(lines[1], "login.succeeded") < strings.Index(lines[1], "mallory") {
		t.Fatalf("the forged row is not shown as part of the name:\n%s", out)
	}
	// JSON keeps the exact characters, all of them escaped by JSON.
	js := c.ok("", "audit", "--json")
	if bad := rawControls(js, false); len(bad) > 0 {
		t.Fatalf("audit --json printed raw %q: %q", bad, js)
	}
	var got struct{ Username string }
	if err := json.Unmarshal([]byte(js), &got); err != nil || got.Username != strings.ToValidUTF8(forged, "\uFFFD") {
		t.Fatalf("audit --json: %q, %v; want the name back exactly", got.Username, err)
	}
}

func TestTokenDecodeCannotBeForged(t *testing.T) {
	c := newCLI(t)
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	// JSON cannot hold raw C0 controls, but it can hold U+2028 and bidi
	// overrides, and \u escapes of anything.
	tok := seg(`{"alg":"none"}`) + "." + seg("{\"username\":\"a\u2028\u202eb\u200b\",\"role\":\"\\u001b[31madmin\"}") + "."
	out := c.ok("", "token", "decode", tok)
	if bad := rawControls(out, false); len(bad) > 0 {
		t.Fatalf("token decode printed raw %q:\n%q", bad, out)
	}
	if !strings.Contains(out, `a\u2028\u202eb\u200b`) || !strings.Contains(out, `"\u001b[31madmin"`) {
		t.Fatalf("token decode hides the characters or garbles JSON escapes:\n%s", out)
	}
}

func TestCLIErrorsAreEscaped(t *testing.T) {
	var out bytes.Buffer
	code := exitCode(&cliEnv{stderr: &out}, errors.New("first problem\nsecond: "+forged))
	if code != 1 || strings.Count(out.String(), "\n") != 3 || len(rawControls(out.String(), false)) > 0 {
		t.Fatalf("exit %d, %q", code, out.String())
	}
}

// Text logs quote a value that holds anything but plain printable
// characters (log/slog's TextHandler does), so a logged name cannot start
// a fake record either.
func TestTextLogsCannotBeForged(t *testing.T) {
	var out bytes.Buffer
	log := newLogger(&out, "text")
	log.Info(forged, "username", forged, forged, "key", "err", errors.New(forged))
	log.WithGroup(forged).Warn("login failed", "user_agent", forged)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || len(rawControls(out.String(), false)) > 0 {
		t.Fatalf("want 2 log lines without raw controls, got %d:\n%q", len(lines), out.String())
	}
	for _, l := range lines {
		if strings.Count(l, "level=") != 1 {
			t.Fatalf("a forged level= outside quotes: %q", l)
		}
	}
}
