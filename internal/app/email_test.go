package app

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/smtptest"
)

const linkBase = "https://id.example.test"

// mailEnv is a running Gatehouse whose outbox sends to a real SMTP server.
type mailEnv struct {
	*env
	smtp *smtptest.Server
	logs *syncBuffer
	seen int // messages already returned by next
	// answers are every HTTP answer body of the test, to check that no
	// token from a message is ever in one.
	answers [][]byte
}

func mailConfig(t *testing.T, smtp *smtptest.Server) config.Config {
	cfg := testConfig(t)
	cfg.Signup = "open"
	cfg.Mail.LinkBase = linkBase
	cfg.Mail.From = "no-reply@example.test"
	cfg.Mail.PerAddressMinute, cfg.Mail.PerAddressHour = 0, 0
	if smtp != nil {
		cfg.Mail.SMTPURL = smtp.URL()
	}
	return cfg
}

// startMail starts Gatehouse on cfg with its sender running.
func startMail(t *testing.T, cfg config.Config, smtp *smtptest.Server) *mailEnv {
	t.Helper()
	logs := &syncBuffer{}
	e := startWith(t, cfg, Options{}, slog.New(slog.NewTextHandler(logs, nil)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.app.Outbox.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &mailEnv{env: e, smtp: smtp, logs: logs}
}

func newMailEnv(t *testing.T) *mailEnv {
	smtp := smtptest.Start(t)
	return startMail(t, mailConfig(t, smtp), smtp)
}

// call is do, keeping the answer for noTokenAnswered.
func (m *mailEnv) call(method, path, bearer string, body any) resp {
	m.t.Helper()
	r := m.do(method, path, bearer, body)
	m.answers = append(m.answers, r.body)
	return r
}

// received is a message as the SMTP server got it.
type received struct {
	to, subject, text, html, messageID string
}

// next waits for the next message the SMTP server receives and returns it.
func (m *mailEnv) next() received {
	m.t.Helper()
	var msgs []smtptest.Message
	eventually(m.t, 10*time.Second, func() bool {
		msgs = m.smtp.Messages()
		return len(msgs) > m.seen
	})
	msg := msgs[m.seen]
	m.seen++
	p, err := msg.Parse()
	if err != nil {
		m.t.Fatal(err)
	}
	return received{
		to: strings.Join(msg.To, ","), subject: p.Header.Get("Subject"), text: p.Text, html: p.HTML,
		messageID: p.Header.Get("Message-Id"),
	}
}

// quiet checks that no further message arrives while the outbox drains.
func (m *mailEnv) quiet() {
	m.t.Helper()
	if err := m.app.Outbox.Drain(context.Background()); err != nil {
		m.t.Fatal(err)
	}
	if msgs := m.smtp.Messages(); len(msgs) > m.seen {
		p, _ := msgs[m.seen].Parse()
		m.t.Fatalf("unexpected message to %v: %s\n%s", msgs[m.seen].To, p.Header.Get("Subject"), p.Text)
	}
}

var linkRE = regexp.MustCompile(`https://id\.example\.test/(verify-email|reset-password)#token=([A-Za-z0-9_-]+)`)

// link returns the page and the token of the message's link, checking that
// both parts carry the same URL.
func (m *mailEnv) link(msg received) (page, token string) {
	m.t.Helper()
	sub := linkRE.FindStringSubmatch(msg.text)
	if sub == nil {
		m.t.Fatalf("no link in the text part of %q:\n%s", msg.subject, msg.text)
	}
	if !strings.Contains(msg.html, sub[0]) {
		m.t.Fatalf("the HTML part lacks the link %s:\n%s", sub[0], msg.html)
	}
	if len(sub[2]) < 43 {
		m.t.Fatalf("token %q has under 256 bits", sub[2])
	}
	return sub[1], sub[2]
}

func (m *mailEnv) noTokenAnswered(tokens ...string) {
	m.t.Helper()
	for _, a := range m.answers {
		for _, tok := range tokens {
			if bytes.Contains(a, []byte(tok)) {
				m.t.Fatalf("an HTTP answer holds a token from a message: %s", a)
			}
		}
	}
	for _, tok := range tokens {
		if strings.Contains(m.logs.String(), tok) {
			m.t.Fatalf("the log holds a token from a message")
		}
	}
}

func wantCode(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.status != status || r.str(t, "code") != code {
		t.Fatalf("got %d %s, want %d code %s", r.status, r.body, status, code)
	}
}

// TestEmailVerification: signup with an address sends a link; the link
// verifies it once; requests on demand; the failures of the table.
func TestEmailVerification(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)

	r := m.call("POST", "/auth/signup", "", map[string]string{"username": "carol", "password": "carol-password-1", "email": "Carol@Example.com"})
	expect(t, r, 201, "")
	if got := r.json(t); got["email"] != "Carol@Example.com" || got["email_verified"] != false {
		t.Fatalf("signup answer %s", r.body)
	}
	msg := m.next()
	if msg.to != "Carol@Example.com" || msg.messageID == "" {
		t.Fatalf("message %+v", msg)
	}
	page, tok := m.link(msg)
	if page != "verify-email" {
		t.Fatalf("page %s", page)
	}

	// Taken (in another case) and malformed addresses.
	wantCode(t, m.call("POST", "/auth/signup", "", map[string]string{"username": "carol2", "password": "carol-password-1", "email": "carol@EXAMPLE.COM"}), 409, "email_taken")
	for _, bad := range []string{"carol", "carol@", "@example.com", "Carol <carol@example.com>", "a@b", strings.Repeat("a", 250) + "@example.com"} {
		expect(t, m.hostile().do("POST", "/auth/signup", "", map[string]string{"username": "carol3", "password": "carol-password-1", "email": bad}), 422, "")
	}

	// A bad token changes nothing; the right one verifies, once.
	wantCode(t, m.call("POST", "/auth/email/verify", "", map[string]string{"token": strings.Repeat("A", 43)}), 400, "invalid_token")
	wantCode(t, m.call("POST", "/auth/email/verify", "", map[string]string{"token": "short"}), 400, "invalid_token")
	r = m.call("POST", "/auth/email/verify", "", map[string]string{"token": tok})
	expect(t, r, 200, "")
	if got := r.json(t); got["email_verified"] != true || got["username"] != "carol" {
		t.Fatalf("verify answer %s", r.body)
	}
	wantCode(t, m.call("POST", "/auth/email/verify", "", map[string]string{"token": tok}), 400, "invalid_token")

	carol := m.login("carol", "carol-password-1")
	r = m.call("GET", "/me", carol.access, nil)
	if got := r.json(t); got["email_verified"] != true || got["email"] != "Carol@Example.com" {
		t.Fatalf("/me %s", r.body)
	}
	wantCode(t, m.call("POST", "/auth/email/verify/request", carol.access, nil), 409, "email_already_verified")

	// On request: bob's demo address is unverified. A newer link voids the older.
	bob := m.login("bob", "password456")
	expect(t, m.call("POST", "/auth/email/verify/request", bob.access, nil), 202, "")
	_, first := m.link(m.next())
	expect(t, m.call("POST", "/auth/email/verify/request", bob.access, nil), 202, "")
	_, second := m.link(m.next())
	wantCode(t, m.call("POST", "/auth/email/verify", "", map[string]string{"token": first}), 400, "invalid_token")
	expect(t, m.call("POST", "/auth/email/verify", "", map[string]string{"token": second}), 200, "")

	// No address at all.
	admin := m.login("alice", "secret123")
	expect(t, m.call("POST", "/admin/users", admin.access, map[string]any{"username": "dave", "password": "dave-password-1"}), 201, "")
	dave := m.login("dave", "dave-password-1")
	wantCode(t, m.call("POST", "/auth/email/verify/request", dave.access, nil), 422, "no_email")
	wantCode(t, m.hostile().do("POST", "/auth/email/verify/request", "", nil), 401, "unauthenticated")
	m.quiet()
	m.noTokenAnswered(tok, first, second)
}

// TestPasswordReset: forgot answers the same for every address and sends a
// link only to an account's; the link sets a password once, ends every
// session, verifies the address, and is not a login.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	bob := m.login("bob", "password456")
	other := m.login("bob", "password456")

	known := m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "BOB@example.com"})
	unknown := m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "nobody@example.com"})
	for _, r := range []resp{known, unknown} {
		expect(t, r, 202, "If an account uses that address, a reset link has been sent to it")
	}
	if !bytes.Equal(known.body, unknown.body) {
		t.Fatalf("answers differ: %s / %s", known.body, unknown.body)
	}
	msg := m.next()
	if msg.to != "bob@example.com" {
		t.Fatalf("reset sent to %s", msg.to)
	}
	page, tok := m.link(msg)
	if page != "reset-password" {
		t.Fatalf("page %s", page)
	}
	m.quiet() // nothing for the unknown address

	// A newer link voids the older.
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "bob@example.com"}), 202, "")
	_, newer := m.link(m.next())
	wantCode(t, m.call("POST", "/auth/password/reset", "", map[string]string{"token": tok, "new_password": "bobs-new-password"}), 400, "invalid_token")

	// A password refused by the policy leaves the token usable.
	expect(t, m.call("POST", "/auth/password/reset", "", map[string]string{"token": newer, "new_password": "short"}), 422, "")
	expect(t, m.invalid("malformed body").do("POST", "/auth/password/reset", "", map[string]string{"token": newer}), 422, "")
	expect(t, m.invalid("malformed body").do("POST", "/auth/password/forgot", "", map[string]string{"mail": "x"}), 422, "")
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "not an address"}), 422, "")

	r := m.call("POST", "/auth/password/reset", "", map[string]string{"token": newer, "new_password": "bobs-new-password"})
	expect(t, r, 204, "")
	if len(r.body) != 0 || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("a reset logged in: %q %v", r.body, r.header)
	}
	wantCode(t, m.call("POST", "/auth/password/reset", "", map[string]string{"token": newer, "new_password": "another-password-2"}), 400, "invalid_token")

	// Every session ended; the old password is gone; the address is verified.
	for _, p := range []pair{bob, other} {
		expect401(t, m.call("GET", "/me", p.access, nil), "Could not validate credentials")
		expect401(t, m.refresh(p.refresh), "Invalid or expired refresh token")
	}
	expect401(t, m.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"}), "Invalid username or password")
	now := m.login("bob", "bobs-new-password")
	me := m.call("GET", "/me", now.access, nil)
	if got := me.json(t); got["email_verified"] != true {
		t.Fatalf("after a reset the address is not verified: %v", got)
	}
	notice := m.next()
	if notice.to != "bob@example.com" || strings.Contains(notice.text, "#token=") || !strings.Contains(strings.ToLower(notice.subject), "password") {
		t.Fatalf("password notice %+v", notice)
	}
	m.wantAudit(time.Time{}, auth.AuditEvent{Event: auth.AuditPasswordReset, UserID: me.str(t, "id"), Username: "bob",
		IP: "127.0.0.1", UserAgent: "Go-http-client/1.1", Detail: "sessions_ended=2"})
	m.quiet()

	// A disabled account gets no link, and the same answer.
	admin := m.login("alice", "secret123")
	expect(t, m.call("PATCH", "/admin/users/"+me.str(t, "id"), admin.access, map[string]any{"is_active": false}), 200, "")
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "bob@example.com"}), 202, "If an account uses that address, a reset link has been sent to it")
	m.quiet()
	m.noTokenAnswered(tok, newer)
}

// TestResetTokenRace: 20 concurrent uses of one reset token, exactly one
// 204.
func TestResetTokenRace(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "alice@example.com"}), 202, "")
	_, tok := m.link(m.next())
	const n = 20
	statuses := atOnce(n, func(i int) int {
		return m.invalid(anyRequest+"a race").do("POST", "/auth/password/reset", "", map[string]string{"token": tok, "new_password": "a-new-password-" + string(rune('a'+i))}).status
	})
	won := 0
	for _, s := range statuses {
		switch s {
		case 204:
			won++
		case 400:
		default:
			t.Errorf("status %d", s)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d resets succeeded: %v", won, n, statuses)
	}
}

// TestEmailChange: the link goes to the new address, a notice to the old;
// the account moves only when the link is used.
func TestEmailChange(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	alice := m.login("alice", "secret123")
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "alice@example.com"}), 202, "")
	_, reset := m.link(m.next())

	expect401(t, m.call("PUT", "/me/email", alice.access, map[string]string{"email": "alice@new.example", "current_password": "wrong"}), "Current password is incorrect")
	wantCode(t, m.call("PUT", "/me/email", alice.access, map[string]string{"email": "BOB@example.com", "current_password": "secret123"}), 409, "email_taken")
	expect(t, m.call("PUT", "/me/email", alice.access, map[string]string{"email": "alice at new", "current_password": "secret123"}), 422, "")

	expect(t, m.call("PUT", "/me/email", alice.access, map[string]string{"email": "alice@new.example", "current_password": "secret123"}), 202, "")
	var link, notice received
	for range 2 {
		msg := m.next()
		switch msg.to {
		case "alice@new.example":
			link = msg
		case "alice@example.com":
			notice = msg
		default:
			t.Fatalf("message to %s", msg.to)
		}
	}
	if strings.Contains(notice.text, "#token=") || !strings.Contains(notice.text, "alice@new.example") {
		t.Fatalf("notice to the old address:\n%s", notice.text)
	}
	page, tok := m.link(link)
	if page != "verify-email" {
		t.Fatalf("page %s", page)
	}
	if got := m.call("GET", "/me", alice.access, nil).json(t); got["email"] != "alice@example.com" {
		t.Fatalf("the address changed before the link was used: %v", got)
	}
	// The change voided the reset link sent to the old address.
	wantCode(t, m.call("POST", "/auth/password/reset", "", map[string]string{"token": reset, "new_password": "alice-new-password"}), 400, "invalid_token")

	r := m.call("POST", "/auth/email/verify", "", map[string]string{"token": tok})
	expect(t, r, 200, "")
	if got := r.json(t); got["email"] != "alice@new.example" || got["email_verified"] != true {
		t.Fatalf("after the link: %s", r.body)
	}
	// The change logs nobody out.
	expect(t, m.call("GET", "/me", alice.access, nil), 200, "")
	m.quiet()
	m.noTokenAnswered(tok, reset)
}

// TestAdminEmail: an administrator sets addresses, vouched for or not.
func TestAdminEmail(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	admin := m.login("alice", "secret123")
	r := m.call("POST", "/admin/users", admin.access, map[string]any{"username": "erin", "password": "erin-password-1", "email": "erin@example.com"})
	expect(t, r, 201, "")
	if got := r.json(t); got["email"] != "erin@example.com" || got["email_verified"] != false {
		t.Fatalf("created %s", r.body)
	}
	m.link(m.next()) // a verification link
	id := r.str(t, "id")

	r = m.call("POST", "/admin/users", admin.access, map[string]any{"username": "frank", "password": "frank-password-1", "email": "frank@example.com", "email_verified": true})
	if got := r.json(t); got["email_verified"] != true {
		t.Fatalf("vouched %s", r.body)
	}
	m.quiet() // no link for a vouched address
	wantCode(t, m.call("POST", "/admin/users", admin.access, map[string]any{"username": "gina", "password": "gina-password-1", "email": "FRANK@example.com"}), 409, "email_taken")
	wantCode(t, m.call("PATCH", "/admin/users/"+id, admin.access, map[string]any{"email": "frank@example.com"}), 409, "email_taken")

	r = m.call("PATCH", "/admin/users/"+id, admin.access, map[string]any{"email_verified": true})
	if got := r.json(t); got["email_verified"] != true {
		t.Fatalf("patched %s", r.body)
	}
	r = m.call("PATCH", "/admin/users/"+id, admin.access, map[string]any{"email": "erin@new.example"})
	if got := r.json(t); got["email"] != "erin@new.example" || got["email_verified"] != false {
		t.Fatalf("patched %s", r.body)
	}
	var got []string
	for range 2 {
		msg := m.next()
		got = append(got, msg.to)
	}
	sort.Strings(got)
	if !slices.Equal(got, []string{"erin@example.com", "erin@new.example"}) {
		t.Fatalf("messages to %v, want a notice to the old address and a link to the new", got)
	}
	r = m.call("PATCH", "/admin/users/"+id, admin.access, map[string]any{"email": nil})
	if got := r.json(t); got["email"] != nil {
		t.Fatalf("removed %s", r.body)
	}
	m.quiet()
}

// TestForgotTiming: POST /auth/password/forgot takes as long for an
// address that an account uses as for one that none does. 200 of each,
// interleaved, after a warm-up; the medians differ by under 1 ms. The
// test runs alone (not in parallel with this package's others), with the
// per-address limits of production.
func TestForgotTiming(t *testing.T) {
	cfg := mailConfig(t, nil)
	cfg.Mail.ForgotRate = 0
	cfg.Mail.PerAddressMinute, cfg.Mail.PerAddressHour = 1, 5
	m := startMail(t, cfg, nil)
	for i := range 50 {
		m.do("POST", "/auth/password/forgot", "", map[string]string{"email": []string{"alice@example.com", "warm@example.com"}[i%2]})
	}
	var known, unknown []time.Duration
	for i := range 400 {
		addr := "alice@example.com"
		if i%2 == 1 {
			addr = "nobody" + url.QueryEscape(string(rune('a'+i%26))) + "@example.com"
		}
		start := time.Now()
		r := m.do("POST", "/auth/password/forgot", "", map[string]string{"email": addr})
		d := time.Since(start)
		if r.status != 202 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		if i%2 == 0 {
			known = append(known, d)
		} else {
			unknown = append(unknown, d)
		}
	}
	mk, mu := median(known), median(unknown)
	t.Logf("median known %v, unknown %v", mk, mu)
	if diff := (mk - mu).Abs(); diff >= time.Millisecond {
		t.Fatalf("medians differ by %v (known %v, unknown %v)", diff, mk, mu)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestMailToLog: without GATEHOUSE_SMTP_URL each message is one log line
// with its link, and counts as sent.
func TestMailToLog(t *testing.T) {
	t.Parallel()
	m := startMail(t, mailConfig(t, nil), nil)
	expect(t, m.do("POST", "/auth/password/forgot", "", map[string]string{"email": "bob@example.com"}), 202, "")
	eventually(t, 10*time.Second, func() bool { return strings.Contains(m.logs.String(), "reset-password#token=") })
	var line string
	for _, l := range strings.Split(m.logs.String(), "\n") {
		if strings.Contains(l, "#token=") {
			line = l
		}
	}
	if !strings.Contains(line, "bob@example.com") || !strings.Contains(line, linkBase+"/reset-password#token=") {
		t.Fatalf("log line %q", line)
	}
	eventually(t, 10*time.Second, func() bool {
		counts, err := m.app.Store.CountMail(context.Background())
		return err == nil && counts[auth.MailSent] == 1 && counts[auth.MailPending] == 0
	})
}

// TestEmailPostgres runs the verification and reset flows on PostgreSQL.
func TestEmailPostgres(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfg := mailConfig(t, smtp)
	cfg.DatabaseURL = pgtest.Schema(t, pgtest.URL(t))
	m := startMail(t, cfg, smtp)
	expect(t, m.call("POST", "/auth/signup", "", map[string]string{"username": "carol", "password": "carol-password-1", "email": "carol@example.com"}), 201, "")
	_, tok := m.link(m.next())
	expect(t, m.call("POST", "/auth/email/verify", "", map[string]string{"token": tok}), 200, "")
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "carol@example.com"}), 202, "")
	_, reset := m.link(m.next())
	carol := m.login("carol", "carol-password-1")
	expect(t, m.call("POST", "/auth/password/reset", "", map[string]string{"token": reset, "new_password": "carols-new-password"}), 204, "")
	expect401(t, m.call("GET", "/me", carol.access, nil), "Could not validate credentials")
	m.login("carol", "carols-new-password")
}

// TestSendLimits: per address, one message of a kind a minute; requests
// past it get the same 202 and send nothing. Only the per-client limit
// answers 429.
func TestSendLimits(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfg := mailConfig(t, smtp)
	cfg.Mail.PerAddressMinute, cfg.Mail.PerAddressHour = 1, 5
	cfg.Mail.ForgotRate = 4
	m := startMail(t, cfg, smtp)
	for range 2 {
		expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "bob@example.com"}), 202, "")
	}
	bob := m.login("bob", "password456")
	for range 2 {
		expect(t, m.call("POST", "/auth/email/verify/request", bob.access, nil), 202, "")
	}
	kinds := map[string]int{}
	for range 2 {
		msg := m.next()
		if msg.to != "bob@example.com" {
			t.Fatalf("message to %s", msg.to)
		}
		page, _ := m.link(msg)
		kinds[page]++
	}
	if kinds["reset-password"] != 1 || kinds["verify-email"] != 1 {
		t.Fatalf("messages %v, want one of each kind", kinds)
	}
	m.quiet()
	// Two more reset requests are allowed from this client, then 429.
	for range 2 {
		expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "someone@example.com"}), 202, "")
	}
	r := m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "someone@example.com"})
	wantCode(t, r, 429, "too_many")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

// TestMailMetrics: the outbox's metrics are served on /metrics: messages
// sent by kind, retried, failed, and the queue's depth.
func TestMailMetrics(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "bob@example.com"}), 202, "")
	m.next()
	m.smtp.Fail(451, smtptest.PhaseRcpt)
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "alice@example.com"}), 202, "")
	eventually(t, 10*time.Second, func() bool {
		return strings.Contains(string(m.do("GET", "/metrics", "", nil).body), "\ngatehouse_mail_retried_total 1")
	})
	r := m.do("GET", "/metrics", "", nil)
	for _, want := range []string{`gatehouse_mail_sent_total{kind="reset"} 1`, "\ngatehouse_mail_retried_total 1", "\ngatehouse_mail_failed_total 0", "\ngatehouse_mail_queue_depth "} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestEmailSealedAtRest: with GATEHOUSE_ENCRYPTION_KEY, a message waiting
// in the outbox (the SMTP server is down) holds its link only sealed; it
// is opened to be sent once the server is back.
func TestEmailSealedAtRest(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	smtp.Stop()
	cfg := mailConfig(t, smtp)
	cfg.EncryptionKey = []byte("0123456789abcdef0123456789ABCDEF")
	cfg.Mail.RetryMin, cfg.Mail.RetryMax = time.Second, time.Second
	m := startMail(t, cfg, smtp)
	expect(t, m.call("POST", "/auth/password/forgot", "", map[string]string{"email": "bob@example.com"}), 202, "")
	var body string
	eventually(t, 10*time.Second, func() bool {
		msgs, err := m.app.Store.ListMail(context.Background(), auth.MailFilter{State: auth.MailPending, Limit: 10})
		if err != nil || len(msgs) != 1 || msgs[0].Kind != auth.MailReset || msgs[0].Attempts == 0 {
			return false
		}
		body = msgs[0].Text + msgs[0].HTML
		return true
	})
	if !strings.HasPrefix(body, "sealed:") || strings.Contains(body, "token") || strings.Contains(body, "reset-password") {
		t.Fatalf("a pending message's body in the clear: %.200s", body)
	}
	smtp.Restart()
	_, tok := m.link(m.next())
	expect(t, m.call("POST", "/auth/password/reset", "", map[string]string{"token": tok, "new_password": "bobs-new-password"}), 204, "")
}
