package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/smtptest"
)

const from = `"Gatehouse" <no-reply@example.com>`

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// resetMail composes a reset link to bob.
func resetMail(t *testing.T) auth.Mail {
	t.Helper()
	m, err := newComposer(t, "").Compose(TemplateReset, auth.MailReset, "bob@example.org", "user-2", Data{Username: "bob", Token: token, Expires: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newSMTP(t *testing.T, rawURL string) *SMTP {
	t.Helper()
	s, err := NewSMTP(rawURL, from, discard())
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

// only returns the one message srv received, parsed.
func only(t *testing.T, srv *smtptest.Server) (smtptest.Message, smtptest.Parsed) {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the server received %d messages, want 1", len(msgs))
	}
	p, err := msgs[0].Parse()
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return msgs[0], p
}

func TestSMTPDelivers(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := resetMail(t)
	if err := newSMTP(t, srv.URL()).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, p := only(t, srv)
	if got.From != "no-reply@example.com" || len(got.To) != 1 || got.To[0] != "bob@example.org" {
		t.Errorf("envelope: from %q to %q", got.From, got.To)
	}
	h := p.Header
	for name, want := range map[string]string{
		"Message-Id":     "<" + m.MessageID + ">",
		"From":           from,
		"To":             "<bob@example.org>",
		"Subject":        "Reset your Gatehouse password",
		"Auto-Submitted": "auto-generated",
	} {
		if h.Get(name) != want {
			t.Errorf("%s: %q, want %q", name, h.Get(name), want)
		}
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date: %v %v", d, err)
	}
	if strings.Join(p.Types, " ") != "multipart/alternative text/plain text/html" {
		t.Errorf("structure: %v", p.Types)
	}
	link := "https://id.example.com/reset-password#token=" + token
	if !strings.Contains(p.Text, "\n"+link+"\n") {
		t.Errorf("plain part lacks the link verbatim:\n%s", p.Text)
	}
	if !strings.Contains(p.HTML, `href="`+link+`"`) {
		t.Errorf("HTML part lacks the link:\n%s", p.HTML)
	}
	if p.Text != m.Text || p.HTML != m.HTML {
		t.Errorf("parts changed in transit")
	}
}

func TestSMTPTextOnly(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := resetMail(t)
	m.HTML = ""
	if err := newSMTP(t, srv.URL()).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_, p := only(t, srv)
	if strings.Join(p.Types, " ") != "text/plain" || p.Text != m.Text {
		t.Errorf("text-only message: %v %q", p.Types, p.Text)
	}
}

func TestSMTPFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		phase     string
		code      int
		permanent bool
	}{
		{smtptest.PhaseMail, 421, false},
		{smtptest.PhaseMail, 553, true},
		{smtptest.PhaseRcpt, 451, false},
		{smtptest.PhaseRcpt, 550, true},
		{smtptest.PhaseData, 452, false},
		{smtptest.PhaseData, 554, true},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.phase, tc.code), func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t)
			srv.Fail(tc.code, tc.phase)
			err := newSMTP(t, srv.URL()).Send(context.Background(), resetMail(t))
			var se *SendError
			if err == nil || !asSendError(err, &se) {
				t.Fatalf("%d at %s: %v, want a *SendError", tc.code, tc.phase, err)
			}
			if Permanent(err) != tc.permanent {
				t.Errorf("%d at %s: permanent %v, want %v (%v)", tc.code, tc.phase, Permanent(err), tc.permanent, err)
			}
			if strings.Contains(err.Error(), "bob@example.org") || !strings.Contains(err.Error(), "smtptest refuses") {
				t.Errorf("error text: %v", err)
			}
			if len(srv.Messages()) != 0 || srv.Refused() == 0 {
				t.Errorf("messages %d, refused %d", len(srv.Messages()), srv.Refused())
			}
			// Cleared, the same server takes the message.
			srv.Fail(0, tc.phase)
			if err := newSMTP(t, srv.URL()).Send(context.Background(), resetMail(t)); err != nil {
				t.Fatalf("after clearing: %v", err)
			}
		})
	}
}

func asSendError(err error, se **SendError) bool {
	s, ok := err.(*SendError)
	*se = s
	return ok
}

func TestSMTPServerDown(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSMTP(t, srv.URL())
	srv.Stop()
	err := s.Send(context.Background(), resetMail(t))
	if err == nil || Permanent(err) {
		t.Fatalf("server down: %v, want a temporary error", err)
	}
	srv.Restart()
	if err := s.Send(context.Background(), resetMail(t)); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	only(t, srv)
}

func TestSMTPBadAddress(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := resetMail(t)
	m.To = "not an address"
	err := newSMTP(t, srv.URL()).Send(context.Background(), m)
	if !Permanent(err) {
		t.Fatalf("bad address: %v, want permanent", err)
	}
	m = resetMail(t)
	m.Text = "" // a body already blanked
	if err := newSMTP(t, srv.URL()).Send(context.Background(), m); !Permanent(err) {
		t.Fatalf("blank body: %v, want permanent", err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("sent anyway")
	}
}

func TestSMTPAuthOnLoopback(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithAuth("mailer", "s3cret pass"))
	if err := newSMTP(t, srv.URL()).Send(context.Background(), resetMail(t)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, _ := only(t, srv)
	if got.User != "mailer" || got.TLS {
		t.Errorf("user %q, TLS %v: want a login in the clear to the loopback server", got.User, got.TLS)
	}
	// A wrong password is a temporary failure (a configuration to fix,
	// not a message to give up).
	bad := strings.Replace(srv.URL(), "s3cret", "wrong", 1)
	if err := newSMTP(t, bad).Send(context.Background(), resetMail(t)); err == nil || Permanent(err) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestSMTPSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("mailer", "pw"))
	s := newSMTP(t, srv.URL())
	// Offered, STARTTLS is taken, and the certificate checked: this one
	// is not trusted yet.
	if err := s.Send(context.Background(), resetMail(t)); err == nil || Permanent(err) {
		t.Fatalf("untrusted certificate: %v, want a temporary error", err)
	}
	s.TLSConfig = &tls.Config{RootCAs: srv.RootCAs(), MinVersion: tls.VersionTLS12}
	if err := s.Send(context.Background(), resetMail(t)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, _ := only(t, srv)
	if !got.TLS || got.User != "mailer" {
		t.Errorf("TLS %v user %q", got.TLS, got.User)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithImplicitTLS())
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL %q", srv.URL())
	}
	s := newSMTP(t, srv.URL())
	s.TLSConfig = &tls.Config{RootCAs: srv.RootCAs(), MinVersion: tls.VersionTLS12}
	if err := s.Send(context.Background(), resetMail(t)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got, _ := only(t, srv); !got.TLS {
		t.Error("not over TLS")
	}
}

// TestSMTPCredentialsNeedTLS sends to a host that is not loopback (the
// name mail.test, dialled to a local server): with credentials, a server
// that does not offer STARTTLS gets nothing, not even the login.
func TestSMTPCredentialsNeedTLS(t *testing.T) {
	t.Parallel()
	for _, offersTLS := range []bool{false, true} {
		opts := []smtptest.Option{smtptest.WithAuth("mailer", "pw")}
		if offersTLS {
			opts = append(opts, smtptest.WithSTARTTLS())
		}
		srv := smtptest.Start(t, opts...)
		_, port, _ := net.SplitHostPort(srv.Addr)
		s := newSMTP(t, "smtp://mailer:pw@mail.test:"+port)
		s.TLSConfig = &tls.Config{RootCAs: srv.RootCAs(), MinVersion: tls.VersionTLS12}
		s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != "mail.test:"+port {
				t.Errorf("dialled %q", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr)
		}
		err := s.Send(context.Background(), resetMail(t))
		if !offersTLS {
			if err == nil || Permanent(err) || srv.Logins() != 0 || len(srv.Messages()) != 0 {
				t.Fatalf("without STARTTLS: err %v, logins %d, messages %d", err, srv.Logins(), len(srv.Messages()))
			}
			continue
		}
		if err != nil {
			t.Fatalf("with STARTTLS: %v", err)
		}
		if got, _ := only(t, srv); !got.TLS || got.User != "mailer" {
			t.Errorf("TLS %v, user %q", got.TLS, got.User)
		}
	}
}

func TestStartTLSPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		credentials, loopback bool
		want                  gomail.TLSPolicy
	}{
		{false, false, gomail.TLSOpportunistic},
		{false, true, gomail.TLSOpportunistic},
		{true, true, gomail.TLSOpportunistic},
		{true, false, gomail.TLSMandatory},
	} {
		if got := startTLSPolicy(tc.credentials, tc.loopback); got != tc.want {
			t.Errorf("startTLSPolicy(credentials %v, loopback %v) = %v, want %v", tc.credentials, tc.loopback, got, tc.want)
		}
	}
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"mail.example.com": false, "10.0.0.1": false, "localhost.example.com": false, "::ffff:10.0.0.1": false,
	} {
		if got := (smtpServer{host: host}).loopback(); got != want {
			t.Errorf("loopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]smtpServer{
		"smtp://mail.example.com":                   {host: "mail.example.com", port: 587},
		"smtp://mail.example.com:25":                {host: "mail.example.com", port: 25},
		"SMTP://mail.example.com:2525/":             {host: "mail.example.com", port: 2525},
		"smtps://mail.example.com":                  {host: "mail.example.com", port: 465, implicitTLS: true},
		"smtps://u:p@mail.example.com:4650":         {host: "mail.example.com", port: 4650, implicitTLS: true, user: "u", pass: "p"},
		"smtp://user%40example.com:p%3Ass@[::1]:25": {host: "::1", port: 25, user: "user@example.com", pass: "p:ss"},
		"smtp://127.0.0.1:1025":                     {host: "127.0.0.1", port: 1025},
	} {
		got, err := parseSMTPURL(raw)
		if err != nil || got != want {
			t.Errorf("parseSMTPURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"", "mail.example.com:25", "http://mail.example.com", "smtp://", "smtp://:25",
		"smtp://mail.example.com:0", "smtp://mail.example.com:65536", "smtp://mail.example.com:x",
		"smtp://mail.example.com/path", "smtp://mail.example.com?tls=no", "smtp://mail.example.com#f",
		"smtp://user@mail.example.com", "smtp://:hunter2@mail.example.com", "smtp:mail.example.com",
		"smtp://user:hunter2@mail.example.com:bad",
	} {
		_, err := parseSMTPURL(raw)
		if err == nil {
			t.Errorf("parseSMTPURL(%q): no error", raw)
			continue
		}
		if !strings.Contains(err.Error(), "GATEHOUSE_SMTP_URL") || !strings.Contains(err.Error(), "smtp://[user:pass@]host:port") {
			t.Errorf("parseSMTPURL(%q): the error does not say how to fix it: %v", raw, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("parseSMTPURL(%q): the error shows the password: %v", raw, err)
		}
	}
	if _, err := NewSMTP("smtp://mail.example.com", "not an address", nil); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_MAIL_FROM") {
		t.Errorf("bad From: %v", err)
	}
}

func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []string{"smtp://u:p@mail.example.com:25", "smtps://[::1]:465/", "smtp://%zz@x", "smtp://a:b@c:d@e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := parseSMTPURL(raw)
		if err != nil {
			if !strings.Contains(err.Error(), "GATEHOUSE_SMTP_URL") {
				t.Fatalf("error without the variable's name: %v", err)
			}
			if u, perr := url.Parse(raw); perr == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) >= 6 && strings.Contains(err.Error(), p) {
					t.Fatalf("error shows the password %q: %v", p, err)
				}
			}
			return
		}
		if s.host == "" || s.port < 1 || s.port > 65535 || (s.user == "") != (s.pass == "") {
			t.Fatalf("parseSMTPURL(%q) = %+v", raw, s)
		}
	})
}

func TestScrub(t *testing.T) {
	t.Parallel()
	got := scrub("failed to send RCPT TO command: 550 <Bob@Example.org>: no\r\nsuch user, affected recipient(s): <bob@example.org>, affected message ID: x", "bob@example.org")
	if got != "failed to send RCPT TO command: 550 <b***@example.org>: no  such user" {
		t.Errorf("scrub = %q", got)
	}
	if long := scrub(strings.Repeat("é", 500), ""); len(long) > maxErrorLen+len("…") || !strings.HasSuffix(long, "…") {
		t.Errorf("long error: %d bytes", len(long))
	}
}

func TestLogTransport(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tr := NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	m := resetMail(t)
	if err := tr.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"level": "INFO", "msg": "mail not sent: no SMTP server configured (GATEHOUSE_SMTP_URL); the message follows",
		"to": "bob@example.org", "kind": "reset", "subject": m.Subject, "message_id": m.MessageID,
		"link": "https://id.example.com/reset-password#token=" + token,
	} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %q", k, rec[k], want)
		}
	}
	if strings.Contains(lines[0], "Someone asked") {
		t.Error("the body is logged")
	}
}

// Connections are reused between messages: five messages, one login. A
// kept connection that the server closed meanwhile is replaced without
// losing the message; a 5xx to one recipient leaves the connection good
// for the next.
func TestSMTPReusesConnections(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.WithAuth("mailer", "pw"))
	s := newSMTP(t, srv.URL())
	ctx := context.Background()
	for range 5 {
		if err := s.Send(ctx, resetMail(t)); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if n := srv.Logins(); n != 1 {
		t.Fatalf("%d logins for 5 sequential messages, want 1", n)
	}
	srv.Stop()
	srv.Restart() // the kept connection is now closed
	if err := s.Send(ctx, resetMail(t)); err != nil {
		t.Fatalf("Send after the server dropped the connection: %v", err)
	}
	if n := srv.Logins(); n != 2 {
		t.Fatalf("%d logins, want 2", n)
	}
	srv.Fail(550, smtptest.PhaseRcpt)
	if err := s.Send(ctx, resetMail(t)); !Permanent(err) {
		t.Fatalf("a 550: %v", err)
	}
	srv.Fail(0, smtptest.PhaseRcpt)
	if err := s.Send(ctx, resetMail(t)); err != nil {
		t.Fatalf("after a 550: %v", err)
	}
	if n, got := srv.Logins(), len(srv.Messages()); n != 2 || got != 7 {
		t.Fatalf("%d logins and %d messages, want 2 and 7", n, got)
	}
}
