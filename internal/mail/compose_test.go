package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// token is a realistic link token: 256 bits, base64url.
const token = "q3Zr8-J_0aXc1VbNwYpE4tLmHs2KuG9oDfRiTe6yA7k"

func newComposer(t *testing.T, templates string) *Composer {
	t.Helper()
	c, err := NewComposer(Config{LinkBase: "https://id.example.com/", From: `"Gatehouse" <no-reply@example.com>`, Templates: templates})
	if err != nil {
		t.Fatalf("NewComposer: %v", err)
	}
	return c
}

func TestLink(t *testing.T) {
	t.Parallel()
	c := newComposer(t, "")
	if got, want := c.Link(PathResetPassword, token), "https://id.example.com/reset-password#token="+token; got != want {
		t.Fatalf("Link = %q, want %q", got, want)
	}
	if c.From() != `"Gatehouse" <no-reply@example.com>` {
		t.Fatalf("From = %q", c.From())
	}
}

func TestComposeLinkMessages(t *testing.T) {
	t.Parallel()
	c := newComposer(t, "")
	for _, tc := range []struct {
		template string
		kind     auth.MailKind
		path     string
		expires  time.Duration
		rendered string
	}{
		{TemplateVerification, auth.MailVerification, PathVerifyEmail, 24 * time.Hour, "24 hours"},
		{TemplateReset, auth.MailReset, PathResetPassword, 30 * time.Minute, "30 minutes"},
		{TemplateAddressChange, auth.MailAddressChange, PathVerifyEmail, 24 * time.Hour, "24 hours"},
	} {
		t.Run(tc.template, func(t *testing.T) {
			m, err := c.Compose(tc.template, tc.kind, " alice@example.org ", "user-1", Data{Username: "alice", Token: token, Expires: tc.expires})
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			link := "https://id.example.com/" + tc.path + "#token=" + token
			if !strings.Contains(m.Text, "\n"+link+"\n") {
				t.Errorf("the plain part does not carry %s verbatim on a line of its own:\n%s", link, m.Text)
			}
			if !strings.Contains(m.HTML, `href="`+link+`"`) || !strings.Contains(m.HTML, ">"+link+"<") {
				t.Errorf("the HTML part does not carry %s unmangled:\n%s", link, m.HTML)
			}
			if !strings.Contains(m.Text, tc.rendered) || !strings.Contains(m.HTML, tc.rendered) {
				t.Errorf("expiry %q missing", tc.rendered)
			}
			if !strings.Contains(m.Text, "If you did not ask for this, ignore this message") {
				t.Errorf("no reassurance line:\n%s", m.Text)
			}
			if m.Kind != tc.kind || m.To != "alice@example.org" || m.UserID != "user-1" || m.State != auth.MailPending {
				t.Errorf("fields: %+v", m)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || strings.HasPrefix(m.Text, "Subject:") {
				t.Errorf("subject %q, text starts %q", m.Subject, m.Text[:20])
			}
			id, err := uuid.Parse(m.ID)
			if err != nil || id.Version() != 7 {
				t.Errorf("ID %q is not a UUIDv7", m.ID)
			}
			if m.MessageID != m.ID+"@example.com" {
				t.Errorf("MessageID = %q, want %s@example.com", m.MessageID, m.ID)
			}
		})
	}
}

func TestComposeNotices(t *testing.T) {
	t.Parallel()
	c := newComposer(t, "")
	when := time.Date(2026, 3, 4, 5, 6, 0, 0, time.FixedZone("CET", 3600))
	for _, name := range []string{TemplatePasswordChanged, TemplateEmailChanged, TemplateMFAEnabled, TemplateMFADisabled} {
		t.Run(name, func(t *testing.T) {
			m, err := c.Compose(name, auth.MailNotice, "alice@example.org", "user-1",
				Data{Username: "alice", NewEmail: "new@example.net", When: when, IP: "198.51.100.7"})
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			for _, part := range []string{m.Text, m.HTML} {
				if strings.Contains(part, "#token=") || strings.Contains(part, "http") {
					t.Errorf("a notice carries a link:\n%s", part)
				}
				if !strings.Contains(part, "4 March 2026 at 04:06 UTC") || !strings.Contains(part, "198.51.100.7") {
					t.Errorf("no time or address:\n%s", part)
				}
				if !strings.Contains(part, "If this was not you, reset your password and contact your administrator") {
					t.Errorf("no advice:\n%s", part)
				}
			}
			if name == TemplateEmailChanged && !strings.Contains(m.Text, "new@example.net") {
				t.Errorf("the new address is missing:\n%s", m.Text)
			}
		})
	}
	// Without an IP, the sentence reads without one.
	m, err := c.Compose(TemplatePasswordChanged, auth.MailNotice, "alice@example.org", "", Data{Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, " from ") {
		t.Errorf("empty IP rendered:\n%s", m.Text)
	}
}

func TestComposeRefuses(t *testing.T) {
	t.Parallel()
	c := newComposer(t, "")
	for name, call := range map[string]func() error{
		"unknown template": func() error {
			_, err := c.Compose("welcome", auth.MailNotice, "a@example.org", "", Data{})
			return err
		},
		"kind mismatch": func() error {
			_, err := c.Compose(TemplateReset, auth.MailVerification, "a@example.org", "", Data{Token: token, Expires: time.Hour})
			return err
		},
		"link message without a token": func() error {
			_, err := c.Compose(TemplateReset, auth.MailReset, "a@example.org", "", Data{Expires: time.Hour})
			return err
		},
		"link message without an expiry": func() error {
			_, err := c.Compose(TemplateReset, auth.MailReset, "a@example.org", "", Data{Token: token})
			return err
		},
		"bad recipient": func() error {
			_, err := c.Compose(TemplateMFAEnabled, auth.MailNotice, "Alice <a@example.org>", "", Data{})
			return err
		},
	} {
		if call() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestComposeEscapes(t *testing.T) {
	t.Parallel()
	c, err := NewComposer(Config{Product: "Acme\r\nBcc: evil@example.net", LinkBase: "https://id.example.com", From: "no-reply@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Compose(TemplateVerification, auth.MailVerification, "a@example.org", "", Data{Username: "<b>bob</b>", Token: token, Expires: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject spans lines: %q", m.Subject)
	}
	if strings.Contains(m.HTML, "<b>bob</b>") || !strings.Contains(m.HTML, "&lt;b&gt;bob&lt;/b&gt;") {
		t.Errorf("HTML does not escape the username")
	}
	if !strings.Contains(m.Text, "Hello <b>bob</b>,") {
		t.Errorf("the plain part escapes what it should not:\n%s", m.Text)
	}
}

func TestNewComposerConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{LinkBase: "https://id.example.com", From: ""},
		{LinkBase: "https://id.example.com", From: "not an address"},
		{LinkBase: "", From: "a@example.com"},
		{LinkBase: "id.example.com", From: "a@example.com"},
		{LinkBase: "javascript:alert(1)", From: "a@example.com"},
		{LinkBase: "https://id.example.com/?x=1", From: "a@example.com"},
		{LinkBase: "https://id.example.com", From: "a@example.com", Templates: filepath.Join(t.TempDir(), "missing")},
	} {
		if _, err := NewComposer(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func TestTemplateOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "reset.txt", "Subject: Acme password reset for {{.Username}}\n\nGo to {{.Link}} within {{duration .Expires}}.\n")
	write(t, dir, "reset.html", "") // no HTML part
	write(t, dir, "mfa_enabled.html", "<p>2FA on, {{.Username}}.</p>")
	write(t, dir, "README.md", "not a template: ignored")
	c := newComposer(t, dir)

	m, err := c.Compose(TemplateReset, auth.MailReset, "a@example.org", "", Data{Username: "alice", Token: token, Expires: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Acme password reset for alice" || m.Text != "Go to https://id.example.com/reset-password#token="+token+" within 1 hour.\n" || m.HTML != "" {
		t.Errorf("override not used: %q %q %q", m.Subject, m.Text, m.HTML)
	}
	m, err = c.Compose(TemplateMFAEnabled, auth.MailNotice, "a@example.org", "", Data{Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if m.HTML != "<p>2FA on, alice.</p>" || !strings.Contains(m.Text, "Two-step verification was turned on") {
		t.Errorf("HTML override with embedded text: %q / %q", m.HTML, m.Text)
	}
	// Templates the folder does not have stay embedded.
	m, err = c.Compose(TemplateVerification, auth.MailVerification, "a@example.org", "", Data{Token: token, Expires: time.Hour})
	if err != nil || !strings.Contains(m.HTML, "Verify email address") {
		t.Errorf("embedded verification: %v", err)
	}
}

func TestBrokenOverride(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ file, text string }{
		"parse error":     {"reset.txt", "Subject: x\n\n{{.Link"},
		"unknown field":   {"verification.txt", "Subject: x\n\n{{.Nope}}\n"},
		"no subject":      {"mfa_disabled.txt", "Hello {{.Username}}\n"},
		"no blank line":   {"mfa_disabled.txt", "Subject: x\nHello\n"},
		"empty subject":   {"mfa_disabled.txt", "Subject: \n\nHello\n"},
		"html error":      {"reset.html", "<a href=\"{{.Link}}\">{{.Link</a>"},
		"html bad func":   {"reset.html", "<p>{{nosuch .Link}}</p>"},
		"misspelled name": {"verfication.txt", "Subject: x\n\nbody\n"},
	} {
		dir := t.TempDir()
		write(t, dir, tc.file, tc.text)
		_, err := NewComposer(Config{LinkBase: "https://id.example.com", From: "no-reply@example.com", Templates: dir})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) {
			t.Errorf("%s: the error does not name the file: %v", name, err)
		}
	}
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		30 * time.Minute:        "30 minutes",
		24 * time.Hour:          "24 hours",
		time.Hour:               "1 hour",
		90 * time.Minute:        "90 minutes",
		48 * time.Hour:          "2 days",
		7 * 24 * time.Hour:      "7 days",
		36 * time.Hour:          "36 hours",
		time.Second:             "1 second",
		90 * time.Second:        "90 seconds",
		1500 * time.Millisecond: "2 seconds",
		0:                       "less than a second",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
