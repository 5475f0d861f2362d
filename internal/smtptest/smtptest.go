// Package smtptest runs a real SMTP server in the test's process, on
// 127.0.0.1, that records the messages it accepts. A test can make it
// answer a chosen error at MAIL, RCPT or DATA, require AUTH PLAIN, offer
// STARTTLS (or speak implicit TLS) with a self-signed certificate, and stop
// and restart it on the same port to play an outage. It is imported only
// from _test.go files.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The phases of a mail transaction that Fail can make fail.
const (
	PhaseMail = "MAIL"
	PhaseRcpt = "RCPT"
	PhaseData = "DATA"
)

// Option configures a Server.
type Option func(*Server)

// WithAuth makes the server offer AUTH PLAIN and refuse mail from a client
// that has not logged in as user with pass. URL then carries them.
func WithAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.pass = user, pass }
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed
// certificate for 127.0.0.1, ::1, localhost and mail.test; clients trust
// it through RootCAs. Without it (and without WithImplicitTLS), AUTH is
// offered in the clear.
func WithSTARTTLS() Option {
	return func(s *Server) { s.startTLS = true }
}

// WithImplicitTLS makes the server speak TLS from the first byte (an
// smtps:// server), with the certificate of WithSTARTTLS.
func WithImplicitTLS() Option {
	return func(s *Server) { s.implicitTLS = true }
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is the server's host:port, the same across Stop and Restart.
	Addr string

	t                     testing.TB
	user, pass            string
	startTLS, implicitTLS bool
	cert                  tls.Certificate
	roots                 *x509.CertPool

	logMu sync.Mutex
	ended bool // the test is over: its log takes no more lines

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	messages []Message
	fail     map[string]int
	refused  int
	logins   int
}

// Message is one message the server accepted.
type Message struct {
	From string   // the envelope sender (MAIL FROM)
	To   []string // the envelope recipients (RCPT TO)
	Raw  []byte   // the message as received, headers and body
	TLS  bool     // whether it came over TLS (STARTTLS or implicit)
	User string   // who logged in to send it, "" without AUTH
}

// Start starts a server on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, fail: map[string]int{}}
	for _, o := range opts {
		o(s)
	}
	if s.startTLS || s.implicitTLS {
		cert, roots, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		s.cert, s.roots = cert, roots
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(func() {
		s.Stop()
		s.logMu.Lock()
		s.ended = true
		s.logMu.Unlock()
	})
	return s
}

// URL returns the server's address as a GATEHOUSE_SMTP_URL: smtp:// (or
// smtps:// with WithImplicitTLS), with the credentials of WithAuth.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr}
	if s.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.user != "" {
		u.User = url.UserPassword(s.user, s.pass)
	}
	return u.String()
}

// RootCAs returns a pool that trusts the server's certificate, nil when
// it has none.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Messages returns a copy of the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	copy(out, s.messages)
	return out
}

// Refused returns how many commands the server refused because of Fail.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Logins returns how many clients logged in successfully.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Fail makes the server answer code (a 4xx or 5xx) to every command of
// phase (PhaseMail, PhaseRcpt or PhaseData; DATA fails after the message
// has been read) until Fail is called again for that phase; code 0
// answers normally again.
func (s *Server) Fail(code int, phase string) {
	s.t.Helper()
	if phase != PhaseMail && phase != PhaseRcpt && phase != PhaseData {
		s.t.Fatalf("smtptest: Fail: phase %q, want MAIL, RCPT or DATA", phase)
	}
	if code != 0 && (code < 400 || code > 599) {
		s.t.Fatalf("smtptest: Fail: code %d, want 4xx or 5xx (0 to clear)", code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[phase] = code
}

// Stop closes the listener and every connection; connecting is refused
// until Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// The listener is closed here too: Serve may not have taken it
		// yet, and then Close would not know of it.
		_ = ln.Close()
		_ = srv.Close()
	}
}

// Restart listens again on the same address after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	// The port was just ours; retry briefly in case the kernel has not
	// let go of it yet.
	for range 50 {
		if ln, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("smtptest: listen again on %s: %v", s.Addr, err)
	}
	s.serve(ln)
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = testLogger{s}
	if s.startTLS || s.implicitTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
	}
	if s.implicitTLS {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	if !s.startTLS && !s.implicitTLS {
		srv.AllowInsecureAuth = true
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.logf("serve: %v", err)
		}
	}()
}

// refuse returns the error that Fail set for phase, or nil.
func (s *Server) refuse(phase string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := s.fail[phase]
	if code == 0 {
		return nil
	}
	s.refused++
	return &smtp.SMTPError{
		Code:         code,
		EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
		Message:      fmt.Sprintf("smtptest refuses %s with %d", phase, code),
	}
}

// session is one SMTP conversation.
type session struct {
	s      *Server
	conn   *smtp.Conn
	user   string
	from   string
	to     []string
	authed bool
}

func (x *session) AuthMechanisms() []string {
	if x.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.user || pass != x.s.pass {
			return smtp.ErrAuthFailed
		}
		x.authed, x.user = true, user
		x.s.mu.Lock()
		x.s.logins++
		x.s.mu.Unlock()
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.user != "" && !x.authed {
		return smtp.ErrAuthRequired
	}
	if err := x.s.refuse(PhaseMail); err != nil {
		return err
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := x.s.refuse(PhaseRcpt); err != nil {
		return err
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := x.s.refuse(PhaseData); err != nil {
		return err
	}
	_, isTLS := x.conn.TLSConnectionState()
	m := Message{From: x.from, To: append([]string(nil), x.to...), Raw: bytes.Clone(raw), TLS: isTLS, User: x.user}
	x.s.mu.Lock()
	x.s.messages = append(x.s.messages, m)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }

// logf writes to the test's log while the test runs (a connection's
// goroutine may report an error after it ended).
func (s *Server) logf(format string, v ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if !s.ended {
		s.t.Logf("smtptest: "+format, v...)
	}
}

// testLogger sends the server's internal errors to the test's log.
type testLogger struct{ s *Server }

func (l testLogger) Printf(format string, v ...any) { l.s.logf(format, v...) }

func (l testLogger) Println(v ...any) {
	l.s.logf("%s", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
