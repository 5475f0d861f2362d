package mail

import (
	"context"
	"errors"
	"log/slog"
	"regexp"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Transport delivers a composed message.
type Transport interface {
	// Send delivers m, or returns why it did not: a *SendError says
	// whether trying again may help.
	Send(ctx context.Context, m auth.Mail) error
}

// A SendError says whether a failure is permanent (a 5xx answer to the
// message, a refused recipient, a bad address) or temporary (a 4xx,
// connection refused, a timeout, a TLS handshake with a server that is
// down or misconfigured). Its text never holds the whole recipient
// address.
type SendError struct {
	Permanent bool
	Err       error
}

func (e *SendError) Error() string {
	if e.Permanent {
		return "permanent: " + e.Err.Error()
	}
	return "temporary: " + e.Err.Error()
}

func (e *SendError) Unwrap() error { return e.Err }

// Permanent reports whether err is a *SendError that says trying again
// will not help. Any other error is taken for temporary.
func Permanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// NewLog returns the transport used without GATEHOUSE_SMTP_URL: each
// message is one Info line on log, and Send returns nil. The line carries
// the message's link, token and all (the first URL of its plain part):
// this is, by design and for development only, the one place where a
// token is logged.
func NewLog(log *slog.Logger) Transport {
	if log == nil {
		log = slog.Default()
	}
	return logTransport{log}
}

type logTransport struct{ log *slog.Logger }

// firstURL finds the link of a message's plain part.
var firstURL = regexp.MustCompile(`https?://[^\s<>"]+`)

func (t logTransport) Send(ctx context.Context, m auth.Mail) error {
	t.log.InfoContext(ctx, "mail not sent: no SMTP server configured (GATEHOUSE_SMTP_URL); the message follows",
		"to", m.To, "kind", string(m.Kind), "subject", m.Subject, "message_id", m.MessageID,
		"link", firstURL.FindString(m.Text))
	return nil
}
