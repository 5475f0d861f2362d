package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// smtpTimeout bounds the connection (dial, TLS, greeting) and each
// command after it.
const smtpTimeout = 10 * time.Second

// maxErrorLen is the longest error text a SendError of SMTP keeps.
const maxErrorLen = 400

// SMTP delivers messages to an SMTP server. Connections are kept open
// between messages (up to maxIdle of them, each for at most idleFor), so
// that a backlog costs one SMTP transaction a message, not a connection,
// a greeting and a login each.
type SMTP struct {
	// TLSConfig, when set before the first Send, is the base of the TLS
	// configuration for STARTTLS and smtps (its RootCAs trust a server
	// with a private certificate); ServerName is always the URL's host.
	// nil: the system's roots.
	TLSConfig *tls.Config

	server   smtpServer
	from     string // the From header
	envelope string // the bare From address, for MAIL FROM
	log      *slog.Logger
	// dial, when set, replaces the dialer for smtp:// (tests point a
	// host name at a local server with it).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	idle chan pooled // open connections, waiting for a message
}

// pooled is an open connection with its go-mail client (a client per
// connection: go-mail changes a client's settings while it logs in).
type pooled struct {
	client *gomail.Client
	conn   *smtp.Client
	since  time.Time // when it went idle
}

// How many connections wait between messages, and for how long: less than
// the five minutes RFC 5321 lets a server wait for a command.
const (
	maxIdle = 8
	idleFor = 30 * time.Second
)

// smtpServer is a parsed GATEHOUSE_SMTP_URL.
type smtpServer struct {
	host        string
	port        int
	implicitTLS bool // smtps://
	user, pass  string
}

func (s smtpServer) credentials() bool { return s.user != "" }

func (s smtpServer) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// loopback reports whether the server is on this machine: localhost or a
// loopback IP address.
func (s smtpServer) loopback() bool {
	if strings.EqualFold(s.host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(s.host)
	return err == nil && ip.IsLoopback()
}

// startTLSPolicy decides STARTTLS on smtp://: taken whenever the server
// offers it; and required when there are credentials to send to a host
// other than this machine, so that they never cross a network in the
// clear.
func startTLSPolicy(credentials, loopback bool) gomail.TLSPolicy {
	if credentials && !loopback {
		return gomail.TLSMandatory
	}
	return gomail.TLSOpportunistic
}

// smtpURLHelp is how to write GATEHOUSE_SMTP_URL, for its errors.
const smtpURLHelp = "use smtp://[user:pass@]host:port (STARTTLS whenever the server offers it) or smtps://[user:pass@]host:port (implicit TLS); escape special characters of the user and password with %XX"

// parseSMTPURL reads GATEHOUSE_SMTP_URL. Its errors name the variable
// and never hold the password.
func parseSMTPURL(raw string) (smtpServer, error) {
	bad := func(problem string) error {
		return fmt.Errorf("GATEHOUSE_SMTP_URL %s: %s; %s", redactSMTPURL(raw), problem, smtpURLHelp)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return smtpServer{}, bad("not a URL")
	}
	var s smtpServer
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicitTLS = 465, true
	default:
		return smtpServer{}, bad("the scheme must be smtp or smtps")
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return smtpServer{}, bad("a path, a query or a fragment means nothing here")
	}
	if s.host = u.Hostname(); s.host == "" {
		return smtpServer{}, bad("the host is missing")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return smtpServer{}, bad("the port must be 1 to 65535")
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" || s.pass == "" {
			return smtpServer{}, bad("give both a user and a password, or neither")
		}
	}
	return s, nil
}

// redactSMTPURL hides the password of a GATEHOUSE_SMTP_URL, even one that
// does not parse.
func redactSMTPURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return strconv.Quote(u.Redacted())
	}
	if at := strings.LastIndexByte(raw, '@'); at >= 0 {
		return strconv.Quote("…" + raw[at:])
	}
	return strconv.Quote(raw)
}

// NewSMTP returns a transport to the server of rawURL (GATEHOUSE_SMTP_URL,
// see parseSMTPURL), sending as from (GATEHOUSE_MAIL_FROM). With smtp://,
// STARTTLS is taken whenever the server offers it, and required before
// credentials go to a host that is not this machine; smtps:// speaks TLS
// from the start. Certificates are verified.
func NewSMTP(rawURL, from string, log *slog.Logger) (*SMTP, error) {
	server, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_MAIL_FROM %q: %w; use an address such as no-reply@example.com or \"Gatehouse\" <no-reply@example.com>", from, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &SMTP{server: server, from: from, envelope: addr.Address, log: log, idle: make(chan pooled, maxIdle)}, nil
}

// Send delivers m, on a connection left open by an earlier message when
// there is one. A message that the server took is delivered, whatever
// happens on the connection after. A connection that turns out to be
// closed (the server hung up while it was idle) is replaced, once.
func (s *SMTP) Send(ctx context.Context, m auth.Mail) error {
	msg, err := s.message(m)
	if err != nil {
		return &SendError{Permanent: true, Err: fmt.Errorf("message %s: %s", m.ID, scrub(err.Error(), m.To))}
	}
	pc, reused, err := s.take(ctx, m.To)
	if err != nil {
		return err
	}
	err = pc.client.SendWithSMTPClient(pc.conn, msg)
	if !msg.IsDelivered() && reused && noReply(err) {
		s.discard(ctx, pc)
		if pc, _, err = s.dialNew(ctx, m.To); err != nil {
			return err
		}
		err = pc.client.SendWithSMTPClient(pc.conn, msg)
	}
	if noReply(err) {
		s.discard(ctx, pc) // broken: never reused
	} else {
		s.putBack(ctx, pc)
	}
	if msg.IsDelivered() {
		if err != nil {
			s.log.DebugContext(ctx, "SMTP server took the message, then failed", "message_id", m.MessageID, "err", scrub(err.Error(), m.To))
		}
		return nil
	}
	if err == nil {
		err = errors.New("the server did not take the message")
	}
	return classify(err, m.To)
}

// noReply reports whether a failed transaction got no SMTP reply to go by
// (the connection broke): the connection cannot be trusted again.
func noReply(err error) bool {
	if err == nil {
		return false
	}
	var se *gomail.SendError
	return !errors.As(err, &se) || se.ErrorCode() == 0
}

// take returns an idle connection that has not waited too long, or a new
// one; reused says which.
func (s *SMTP) take(ctx context.Context, to string) (pooled, bool, error) {
	for {
		select {
		case pc := <-s.idle:
			if time.Since(pc.since) < idleFor {
				return pc, true, nil
			}
			s.discard(ctx, pc)
			continue
		default:
		}
		pc, _, err := s.dialNew(ctx, to)
		return pc, false, err
	}
}

func (s *SMTP) dialNew(ctx context.Context, to string) (pooled, bool, error) {
	client, err := gomail.NewClient(s.server.host, s.options()...)
	if err != nil {
		return pooled{}, false, &SendError{Err: fmt.Errorf("SMTP client: %w", err)}
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		// Nothing about this message: the server is down, or refuses
		// our TLS or our login. Another attempt may well succeed once it
		// is up or reconfigured.
		return pooled{}, false, &SendError{Err: fmt.Errorf("connect to SMTP server %s: %s", s.server.addr(), scrub(err.Error(), to))}
	}
	return pooled{client: client, conn: conn}, false, nil
}

// putBack keeps a connection for the next message, or closes it when
// enough are kept.
func (s *SMTP) putBack(ctx context.Context, pc pooled) {
	pc.since = time.Now()
	select {
	case s.idle <- pc:
	default:
		s.discard(ctx, pc)
	}
}

func (s *SMTP) discard(ctx context.Context, pc pooled) {
	if err := pc.client.CloseWithSMTPClient(pc.conn); err != nil {
		s.log.DebugContext(ctx, "closing the SMTP connection failed", "server", s.server.addr(), "err", err)
	}
}

// options configures a go-mail client for one connection (a client per
// connection: go-mail changes a client's settings while it authenticates).
// The NOOP go-mail sends before each message is left out: a connection
// that the server closed meanwhile is found by the send and replaced.
func (s *SMTP) options() []gomail.Option {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		tc = s.TLSConfig.Clone()
	}
	tc.ServerName = s.server.host
	opts := []gomail.Option{
		gomail.WithPort(s.server.port), gomail.WithTimeout(smtpTimeout), gomail.WithTLSConfig(tc), gomail.WithoutNoop(),
	}
	if s.server.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(startTLSPolicy(s.server.credentials(), s.server.loopback())))
		if s.dial != nil {
			opts = append(opts, gomail.WithDialContextFunc(s.dial))
		}
	}
	if s.server.credentials() {
		// PLAIN and LOGIN refuse to run without TLS except to
		// localhost; the policy above has made TLS certain elsewhere, so
		// the NOENC forms are only needed for the other loopback names.
		plain, login := gomail.SMTPAuthPlain, gomail.SMTPAuthLogin
		if s.server.loopback() {
			plain, login = gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc
		}
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, plain, login),
			gomail.WithUsername(s.server.user), gomail.WithPassword(s.server.pass))
	}
	return opts
}

// message builds the MIME message of m.
func (s *SMTP) message(m auth.Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("the From address: %w", err)
	}
	if err := msg.EnvelopeFrom(s.envelope); err != nil {
		return nil, fmt.Errorf("envelope From: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("the recipient: %w", err)
	}
	if m.MessageID == "" || m.Text == "" {
		return nil, errors.New("no Message-ID or no text part (a message whose body was blanked)")
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDate()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// classify turns a failed transaction into a SendError: permanent for a
// 5xx answer to MAIL, RCPT or DATA and for an address go-mail cannot use,
// temporary for the rest (a 4xx, a connection that broke).
func classify(err error, to string) error {
	permanent := false
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		switch {
		case code >= 500 && code < 600:
			permanent = true
		case code == 0:
			permanent = se.Reason == gomail.ErrGetSender || se.Reason == gomail.ErrGetRcpts || se.Reason == gomail.ErrNoUnencoded
		}
	}
	return &SendError{Permanent: permanent, Err: errors.New(scrub(err.Error(), to))}
}

// scrub makes an error's text fit for the outbox and the logs: without
// the recipient's whole address (go-mail and servers name it), on one
// line, at most maxErrorLen bytes.
func scrub(text, to string) string {
	if i := strings.Index(text, ", affected recipient(s): "); i >= 0 {
		text = text[:i]
	}
	if i := strings.Index(text, ", affected message ID: "); i >= 0 {
		text = text[:i]
	}
	if to != "" {
		text = replaceFold(text, to, auth.Redacted(to))
	}
	text = oneLine(text)
	if len(text) > maxErrorLen {
		text = strings.ToValidUTF8(text[:maxErrorLen], "") + "…"
	}
	return text
}

// replaceFold replaces every occurrence of old in s, in any case.
func replaceFold(s, old, repl string) string {
	lower, lowerOld := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(lowerOld) != len(old) {
		return strings.ReplaceAll(s, old, repl) // case folding changed lengths: exact matches only
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lowerOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}
