package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"
)

// Mail holds how messages are composed and sent (CONTRACT §5).
type Mail struct {
	// SMTPURL is smtp://[user:pass@]host:port or smtps://…; empty writes
	// each message to the log instead (development only).
	SMTPURL string
	// From is the messages' From address (default no-reply@ + the
	// issuer's host).
	From string
	// LinkBase is where links lead (default the issuer); never a
	// request's Host.
	LinkBase string
	// Product is the name messages speak of.
	Product string
	// Templates is a folder whose templates override the built-in ones.
	Templates string
	// ResetTTL and VerifyTTL are the lifetimes of reset links and of
	// verification and address-change links.
	ResetTTL, VerifyTTL time.Duration
	// ForgotRate is how many password-reset requests a client address
	// may make a minute (0: no limit); past it they get 429.
	ForgotRate int
	// PerAddressMinute and PerAddressHour cap the messages of one kind
	// sent to one address (CONTRACT §5: 1 and 5); past them a message is
	// dropped and the client told the same. 0 lifts a cap.
	PerAddressMinute, PerAddressHour int
	// RetryMin and RetryMax bound the backoff between delivery attempts
	// of a message that met a temporary failure (1m doubling to 1h; after
	// 8 attempts it is given up).
	RetryMin, RetryMax time.Duration
	// Rate caps the messages each process starts sending a second (0: no
	// cap): a backlog drains without taking the CPU the API needs.
	Rate int
}

func defaultMail() Mail {
	return Mail{
		Product: "Gatehouse", ResetTTL: 30 * time.Minute, VerifyTTL: 24 * time.Hour, ForgotRate: 20,
		PerAddressMinute: 1, PerAddressHour: 5, RetryMin: time.Minute, RetryMax: time.Hour,
		Rate: 250,
	}
}

func (l *Loader) mailEnv() {
	m := &l.cfg.Mail
	l.str("GATEHOUSE_SMTP_URL", &m.SMTPURL)
	l.str("GATEHOUSE_MAIL_FROM", &m.From)
	l.str("GATEHOUSE_LINK_BASE", &m.LinkBase)
	l.str("GATEHOUSE_PRODUCT_NAME", &m.Product)
	l.str("GATEHOUSE_MAIL_TEMPLATES", &m.Templates)
	l.dur("GATEHOUSE_RESET_TTL", &m.ResetTTL)
	l.dur("GATEHOUSE_VERIFY_TTL", &m.VerifyTTL)
	l.integer("GATEHOUSE_FORGOT_RATE", &m.ForgotRate)
	l.integer("GATEHOUSE_MAIL_PER_ADDRESS_MINUTE", &m.PerAddressMinute)
	l.integer("GATEHOUSE_MAIL_PER_ADDRESS_HOUR", &m.PerAddressHour)
	l.dur("GATEHOUSE_MAIL_RETRY_MIN", &m.RetryMin)
	l.dur("GATEHOUSE_MAIL_RETRY_MAX", &m.RetryMax)
	l.integer("GATEHOUSE_MAIL_RATE", &m.Rate)
}

// WithDefaults returns m with the defaults that depend on the issuer
// filled in: LinkBase (the issuer) and From (no-reply@ + its host).
func (m Mail) WithDefaults(issuer string) Mail {
	if m.LinkBase == "" {
		m.LinkBase = issuer
	}
	m.LinkBase = strings.TrimSuffix(m.LinkBase, "/")
	if m.From == "" {
		host := "localhost"
		if u, err := url.Parse(issuer); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		m.From = "no-reply@" + host
	}
	return m
}

func (c Config) validateMail() []error {
	m := c.Mail
	var errs []error
	if m.SMTPURL != "" {
		u, err := url.Parse(m.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			errs = append(errs, errors.New("GATEHOUSE_SMTP_URL is not smtp://[user:pass@]host:port or smtps://…: fix the URL, or unset it to write mail to the log"))
		}
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		errs = append(errs, fmt.Errorf("GATEHOUSE_MAIL_FROM=%q is not an email address: use for example no-reply@example.com", m.From))
	}
	if u, err := url.Parse(m.LinkBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("GATEHOUSE_LINK_BASE=%q is not an http(s) URL without query or fragment: use for example https://id.example.com", m.LinkBase))
	}
	if strings.TrimSpace(m.Product) == "" || len(m.Product) > 100 {
		errs = append(errs, errors.New("GATEHOUSE_PRODUCT_NAME must be 1 to 100 characters"))
	}
	if m.RetryMax < m.RetryMin {
		errs = append(errs, fmt.Errorf("GATEHOUSE_MAIL_RETRY_MAX=%s is under GATEHOUSE_MAIL_RETRY_MIN=%s", m.RetryMax, m.RetryMin))
	}
	if m.Templates != "" {
		if fi, err := os.Stat(m.Templates); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("GATEHOUSE_MAIL_TEMPLATES=%q is not a readable folder: point it at a folder of templates, or unset it", m.Templates))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"GATEHOUSE_RESET_TTL", m.ResetTTL}, {"GATEHOUSE_VERIFY_TTL", m.VerifyTTL}, {"GATEHOUSE_MAIL_RETRY_MIN", m.RetryMin}, {"GATEHOUSE_MAIL_RETRY_MAX", m.RetryMax}} {
		if d.v < time.Second {
			errs = append(errs, fmt.Errorf("%s=%s is under 1s: use for example 30m", d.name, d.v))
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"GATEHOUSE_FORGOT_RATE", m.ForgotRate}, {"GATEHOUSE_MAIL_PER_ADDRESS_MINUTE", m.PerAddressMinute}, {"GATEHOUSE_MAIL_PER_ADDRESS_HOUR", m.PerAddressHour}, {"GATEHOUSE_MAIL_RATE", m.Rate}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s=%d is negative: use 0 for no limit", n.name, n.v))
		}
	}
	return errs
}
