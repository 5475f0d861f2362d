// Package mail composes Gatehouse's messages from templates and delivers
// them: over SMTP (NewSMTP), or, without an SMTP server, to the log
// (NewLog, for development). Messages are composed when the change they
// tell of is made, stored in the outbox with it, and handed to a Transport
// later by the background sender (package outbox).
package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Config configures a Composer.
type Config struct {
	Product   string // product name in messages, default "Gatehouse"
	LinkBase  string // e.g. "https://id.example.com" (no trailing slash)
	From      string // RFC 5322 From address, e.g. "no-reply@example.com" or `"Gatehouse" <no-reply@x>`
	Templates string // folder of overriding templates, "" for the embedded ones only
	// Sealer, when set, encrypts the bodies of the messages composed, as
	// the outbox keeps them until they are sent (they hold live links);
	// Unsealing opens them for the transport.
	Sealer Sealer
}

// Data is what a template sees.
type Data struct {
	Product  string // filled by the composer
	Username string
	Email    string // the recipient address (filled by the composer when empty)
	// Link is the URL of a link message. The composer fills it from
	// LinkPath and Token (see Composer.Link) when Token is set; it is
	// empty for notices.
	Link     string
	LinkPath string        // "verify-email" or "reset-password"; by default the template's
	Token    string        // the link's token; only ever part of Link
	Expires  time.Duration // how long the link lives (rendered like "30 minutes", "24 hours")
	// for notices:
	NewEmail string
	When     time.Time // when the change was made (now when zero)
	IP       string    // where the change came from, when known
}

// The templates. Each is NAME.txt (a first line "Subject: …", a blank
// line, then the plain body) and NAME.html, in text/template's language
// (see template.go for what of it runs, and how HTML is escaped).
const (
	TemplateVerification    = "verification"
	TemplateReset           = "reset"
	TemplateAddressChange   = "address_change"
	TemplatePasswordChanged = "password_changed"
	TemplateEmailChanged    = "email_changed"
	TemplateMFAEnabled      = "mfa_enabled"
	TemplateMFADisabled     = "mfa_disabled"
)

// Link paths under Config.LinkBase (CONTRACT §5).
const (
	PathVerifyEmail   = "verify-email"
	PathResetPassword = "reset-password"
)

// kinds gives each template the kind of message it makes; the link kinds
// are the ones that need a Link.
var kinds = map[string]auth.MailKind{
	TemplateVerification:    auth.MailVerification,
	TemplateReset:           auth.MailReset,
	TemplateAddressChange:   auth.MailAddressChange,
	TemplatePasswordChanged: auth.MailNotice,
	TemplateEmailChanged:    auth.MailNotice,
	TemplateMFAEnabled:      auth.MailNotice,
	TemplateMFADisabled:     auth.MailNotice,
}

// Names lists the templates, sorted.
func Names() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// linkPaths gives each link template the path of its link.
var linkPaths = map[string]string{
	TemplateVerification:  PathVerifyEmail,
	TemplateAddressChange: PathVerifyEmail,
	TemplateReset:         PathResetPassword,
}

//go:embed templates
var embedded embed.FS

// Composer renders messages. It is safe for concurrent use.
type Composer struct {
	product, linkBase, from, domain string
	templates                       map[string]pair
	now                             func() time.Time
	sealer                          Sealer
}

// pair is a template's parts: the subject line and the body of the
// plain file, and the HTML file (html is nil for no HTML part), with the
// names of the files they came from.
type pair struct {
	subject, text      *mailTemplate
	html               *mailTemplate
	textFile, htmlFile string
}

// NewComposer parses the embedded templates and those of c.Templates that
// replace them. A broken template is an error naming its file; so is a
// file of the folder that names no template (a misspelled override would
// otherwise be ignored). An empty NAME.html in the folder leaves that
// message without an HTML part.
func NewComposer(c Config) (*Composer, error) {
	if c.Product == "" {
		c.Product = "Gatehouse"
	}
	from, err := netmail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("mail From address %q: %w; use an address such as no-reply@example.com or \"Gatehouse\" <no-reply@example.com>", c.From, err)
	}
	base, err := linkBase(c.LinkBase)
	if err != nil {
		return nil, err
	}
	cp := &Composer{
		product: c.Product, linkBase: base, from: c.From,
		domain:    from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		templates: make(map[string]pair, len(kinds)),
		now:       time.Now,
		sealer:    c.Sealer,
	}
	overrides, err := readOverrides(c.Templates)
	if err != nil {
		return nil, err
	}
	for _, name := range Names() {
		p, err := parsePair(name, overrides)
		if err != nil {
			return nil, err
		}
		if err := cp.check(name, p); err != nil {
			return nil, err
		}
		cp.templates[name] = p
	}
	return cp, nil
}

// linkBase checks the base of links: an absolute http(s) URL without a
// query or fragment. It returns it without a trailing slash.
func linkBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("link base %q: use an absolute URL such as https://id.example.com (no query or fragment)", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// source is a template file's text and where it came from, for errors.
type source struct {
	text, file string
}

// readOverrides reads the .txt and .html files of dir, by file name.
func readOverrides(dir string) (map[string]source, error) {
	out := map[string]source{}
	if dir == "" {
		return out, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mail templates folder: %w", err)
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".txt" && ext != ".html") {
			continue
		}
		file := filepath.Join(dir, e.Name())
		if _, ok := kinds[strings.TrimSuffix(e.Name(), ext)]; !ok {
			return nil, fmt.Errorf("mail template %s: no template has that name; the names are %s (.txt or .html)", file, strings.Join(Names(), ", "))
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("mail template: %w", err)
		}
		out[e.Name()] = source{string(b), file}
	}
	return out, nil
}

// load returns the override of file, or the embedded one.
func load(file string, overrides map[string]source) (source, error) {
	if s, ok := overrides[file]; ok {
		return s, nil
	}
	b, err := fs.ReadFile(embedded, "templates/"+file)
	if err != nil {
		return source{}, fmt.Errorf("embedded mail template %s: %w", file, err)
	}
	return source{string(b), "embedded " + file}, nil
}

func parsePair(name string, overrides map[string]source) (pair, error) {
	txt, err := load(name+".txt", overrides)
	if err != nil {
		return pair{}, err
	}
	p := pair{textFile: txt.file}
	subject, body, err := splitSubject(txt.text)
	if err != nil {
		return pair{}, fmt.Errorf("mail template %s: %w", txt.file, err)
	}
	if p.subject, err = parseTemplate(name+" subject", subject, false); err != nil {
		return pair{}, fmt.Errorf("mail template %s: subject: %w", txt.file, err)
	}
	if p.text, err = parseTemplate(name, body, false); err != nil {
		return pair{}, fmt.Errorf("mail template %s: %w", txt.file, err)
	}
	html, err := load(name+".html", overrides)
	if err != nil {
		return pair{}, err
	}
	if strings.TrimSpace(html.text) == "" {
		return p, nil
	}
	p.htmlFile = html.file
	if p.html, err = parseTemplate(name, html.text, true); err != nil {
		return pair{}, fmt.Errorf("mail template %s: %w", html.file, err)
	}
	return p, nil
}

// check renders p with sample data, so that a template that parses but
// fails to run (an unknown field, a bad call) or lacks its subject line
// fails at start, not when a message is due.
func (c *Composer) check(name string, p pair) error {
	d := Data{
		Username: "alice", Email: "alice@example.com", Expires: 30 * time.Minute,
		NewEmail: "alice@example.org", When: time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC), IP: "192.0.2.1",
	}
	if kinds[name] != auth.MailNotice {
		d.Token = "sample-token"
	}
	_, _, _, err := c.render(name, p, d)
	return err
}

// Link returns the URL of a link of kind ("verify-email" or
// "reset-password") that carries token: LinkBase/kind#token=token. The
// token is in the fragment, which browsers do not send to servers or put
// in Referer headers.
func (c *Composer) Link(kind string, token string) string {
	return c.linkBase + "/" + kind + "#token=" + token
}

// From returns the From address of the messages, as configured.
func (c *Composer) From() string { return c.from }

// Compose renders template for the recipient to and returns the message,
// pending, for the outbox: a new ID (UUIDv7), a Message-ID of its own at
// the From address's domain, the subject, the plain part and the HTML
// part. kind must be the template's kind (auth.MailNotice for notices);
// a link template needs a link (d.Token, or d.Link).
func (c *Composer) Compose(template string, kind auth.MailKind, to, userID string, d Data) (auth.Mail, error) {
	p, ok := c.templates[template]
	if !ok {
		return auth.Mail{}, fmt.Errorf("compose mail: no template %q", template)
	}
	if want := kinds[template]; kind != want {
		return auth.Mail{}, fmt.Errorf("compose mail: template %q makes %s messages, not %s", template, want, kind)
	}
	to, err := auth.ValidateEmail(to)
	if err != nil {
		return auth.Mail{}, fmt.Errorf("compose %s mail: recipient: %w", template, err)
	}
	if d.Email == "" {
		d.Email = to
	}
	if d.When.IsZero() {
		d.When = c.now()
	}
	subject, text, html, err := c.render(template, p, d)
	if err != nil {
		return auth.Mail{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return auth.Mail{}, fmt.Errorf("compose mail: id: %w", err)
	}
	return sealBody(c.sealer, auth.Mail{
		ID: id.String(), MessageID: id.String() + "@" + c.domain, Kind: kind, To: to, UserID: userID,
		Subject: subject, Text: text, HTML: html, State: auth.MailPending,
	})
}

// render runs both parts of p on d (with the product and the link
// filled in) and splits the subject off the plain part.
func (c *Composer) render(name string, p pair, d Data) (subject, text, html string, err error) {
	d.Product = c.product
	if d.Token != "" {
		if d.LinkPath == "" {
			d.LinkPath = linkPaths[name]
		}
		d.Link = c.Link(d.LinkPath, d.Token)
	}
	if kinds[name] != auth.MailNotice && (d.Link == "" || d.Expires <= 0) {
		return "", "", "", fmt.Errorf("compose %s mail: a link message needs Data.Token (or Data.Link) and Data.Expires", name)
	}
	var b bytes.Buffer
	if err := p.subject.execute(&b, d); err != nil {
		return "", "", "", fmt.Errorf("mail template %s: subject: %w", p.textFile, err)
	}
	if subject = oneLine(b.String()); subject == "" {
		return "", "", "", fmt.Errorf("mail template %s: the subject is empty", p.textFile)
	}
	b.Reset()
	if err := p.text.execute(&b, d); err != nil {
		return "", "", "", fmt.Errorf("mail template %s: %w", p.textFile, err)
	}
	text = strings.TrimRight(strings.ReplaceAll(b.String(), "\r\n", "\n"), " \t\n") + "\n"
	if p.html != nil {
		b.Reset()
		if err := p.html.execute(&b, d); err != nil {
			return "", "", "", fmt.Errorf("mail template %s: %w", p.htmlFile, err)
		}
		html = b.String()
	}
	return subject, text, html, nil
}

// errNoSubject explains the shape of a plain template.
var errNoSubject = errors.New(`the plain template must start with a line "Subject: …", then a blank line, then the body`)

// splitSubject splits a plain template's source into its subject line
// (after "Subject:") and its body.
func splitSubject(s string) (subject, body string, err error) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	first, rest, ok := strings.Cut(s, "\n")
	subject, isSubject := strings.CutPrefix(first, "Subject:")
	if !ok || !isSubject {
		return "", "", errNoSubject
	}
	blank, body, _ := strings.Cut(rest, "\n")
	if strings.TrimSpace(blank) != "" {
		return "", "", errNoSubject
	}
	return subject, body, nil
}

// oneLine returns s trimmed, with every control character (a line break
// that would start a new header) made a space.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}

// humanDuration renders d in the largest unit that divides it: "24
// hours", "30 minutes", "1 hour", "2 days", "90 seconds".
func humanDuration(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{48 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	for _, u := range units {
		size := u.d
		if u.name == "day" {
			size = 24 * time.Hour // whole days from two on; "24 hours" reads better than "1 day"
		}
		if d >= u.d && d%size == 0 {
			return plural(int64(d/size), u.name)
		}
	}
	if d < time.Second {
		return "less than a second"
	}
	return plural(int64(d.Round(time.Second)/time.Second), "second")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
