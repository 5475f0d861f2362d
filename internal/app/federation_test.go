package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/federation"
	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/totp"
)

// appRedirect is the client's page that the tests have Gatehouse send the
// browser back to (a native app's loopback URI would do as well).
const appRedirect = "https://app.example/done"

// withProvider configures cfg with the provider op as "acme" (link
// policy link) and the client's redirect URI.
func withProvider(t testing.TB, cfg config.Config, op *oidctest.Scripted, link string) config.Config {
	t.Helper()
	file := fmt.Sprintf(`[{"id":"acme","name":"Acme ID","issuer":%q,"client_id":%q,"client_secret":%q,"link":%q}]`,
		op.Issuer(), op.ClientID(), op.ClientSecret(), link)
	ps, err := federation.ParseProviders([]byte(file), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, err := federation.ParseRedirectURIs([]string{appRedirect, "http://127.0.0.1/native"})
	if err != nil {
		t.Fatal(err)
	}
	r.Allow(cfg.Issuer + "/")
	cfg.Providers = config.Providers{List: ps, Redirects: r}
	op.SetRedirectURIs(cfg.Issuer + "/auth/oauth/acme/callback")
	return cfg
}

type fedEnv struct {
	*env
	op    *oidctest.Scripted
	clock *clock
}

func startFederated(t *testing.T, signup, link string) *fedEnv {
	t.Helper()
	op := oidctest.New(t)
	cfg := withProvider(t, testConfig(t), op, link)
	cfg.Signup = signup
	c := &clock{t: time.Now()}
	e := startWith(t, cfg, Options{FederationClock: c.now}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	return &fedEnv{env: e, op: op, clock: c}
}

// browser is a user agent with its own cookies that follows redirects
// one at a time. Gatehouse is at its issuer's host, which the browser
// dials at whichever replica it is told to (at).
type userAgent struct {
	t      testing.TB
	client *http.Client
	mu     sync.Mutex
	at     string // host:port of the Gatehouse replica to reach
}

// secureJar keeps and sends cookies as if the test issuer, plain http,
// were https, so that Gatehouse's Secure, __Host- cookies come back as a
// browser would send them on the real, https issuer.
type secureJar struct{ *cookiejar.Jar }

func asHTTPS(u *url.URL) *url.URL {
	c := *u
	c.Scheme = "https"
	return &c
}

func (j secureJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.Jar.SetCookies(asHTTPS(u), cs) }
func (j secureJar) Cookies(u *url.URL) []*http.Cookie        { return j.Jar.Cookies(asHTTPS(u)) }

func newBrowser(t testing.TB, e *env) *userAgent {
	j, _ := cookiejar.New(nil)
	jar := secureJar{j}
	b := &userAgent{t: t}
	b.to(e)
	issuer, _ := url.Parse(testIssuer)
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == issuer.Host+":80" {
			b.mu.Lock()
			addr = b.at
			b.mu.Unlock()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	b.client = &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b
}

// to points the browser's Gatehouse at replica e.
func (b *userAgent) to(e *env) {
	u, _ := url.Parse(e.srv.URL)
	b.mu.Lock()
	b.at = u.Host
	b.mu.Unlock()
}

// get fetches u and returns the answer, its body read.
func (b *userAgent) get(u string) resp {
	b.t.Helper()
	res, err := b.client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, raw}
}

// follow fetches u and expects a redirect, whose target it returns.
func (b *userAgent) follow(u string) string {
	b.t.Helper()
	r := b.get(u)
	if r.status != http.StatusFound {
		b.t.Fatalf("GET %s: %d %s, want a redirect", u, r.status, r.body)
	}
	return r.header.Get("Location")
}

// startLink asks, as the signed-in bearer of access, to link acme from
// this browser (which gets the binding cookie), and returns where to go.
func (b *userAgent) startLink(access string) string {
	b.t.Helper()
	req, _ := http.NewRequest("POST", testIssuer+"/me/identities/acme", strings.NewReader(`{"redirect_uri":"`+appRedirect+`"}`))
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 200 || body.AuthorizeURL == "" {
		b.t.Fatalf("POST /me/identities/acme: %d", res.StatusCode)
	}
	return body.AuthorizeURL
}

// pkce is a client's PKCE pair.
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := newSecretForTest()
	sum := sha256.Sum256([]byte(v))
	return pkce{v, base64.RawURLEncoding.EncodeToString(sum[:])}
}

func newSecretForTest() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// startURL is Gatehouse's start of a sign-in at acme.
func startURL(q url.Values) string {
	return testIssuer + "/auth/oauth/acme/start?" + q.Encode()
}

// signIn runs the browser through start, the provider and the callback,
// and returns where Gatehouse sent it at the end (parsed).
func (b *userAgent) signIn(q url.Values) *url.URL {
	b.t.Helper()
	atProvider := b.follow(startURL(q))
	callback := b.follow(atProvider)
	if !strings.HasPrefix(callback, testIssuer+"/auth/oauth/acme/callback?") {
		b.t.Fatalf("the provider sent the browser to %s", callback)
	}
	return b.land(callback)
}

// land takes the callback and returns where it redirects.
func (b *userAgent) land(callback string) *url.URL {
	b.t.Helper()
	to, err := url.Parse(b.follow(callback))
	if err != nil {
		b.t.Fatal(err)
	}
	return to
}

// pkceQuery is a token-mode start's query.
func pkceQuery(p pkce, state string) url.Values {
	return url.Values{"redirect_uri": {appRedirect}, "code_challenge": {p.challenge}, "code_challenge_method": {"S256"}, "state": {state}}
}

// exchange trades a hand-off code at POST /auth/token.
func (e *env) exchange(code, verifier string) resp {
	e.t.Helper()
	return e.do("POST", "/auth/token", "", map[string]string{"grant_type": "authorization_code", "code": code, "code_verifier": verifier})
}

// providerLogin signs u in at acme through b in token mode and returns
// the tokens.
func (f *fedEnv) providerLogin(b *userAgent, u oidctest.User) pair {
	f.t.Helper()
	f.op.Login(u)
	p := newPKCE()
	to := b.signIn(pkceQuery(p, "s"))
	if to.Query().Get("code") == "" {
		f.t.Fatalf("no code: %s", to)
	}
	r := f.exchange(to.Query().Get("code"), p.verifier)
	expect(f.t, r, 200, "")
	return pair{r.str(f.t, "access_token"), r.str(f.t, "refresh_token")}
}

func verified(v bool) *bool { return &v }

func TestProviderSignInWithPKCE(t *testing.T) {
	t.Parallel()
	f := startFederated(t, "open", federation.LinkNever)
	b := newBrowser(t, f.env)
	expect(t, f.do("GET", "/auth/providers", "", nil), 200, "")
	if got := string(f.do("GET", "/auth/providers", "", nil).body); got != `{"providers":[{"id":"acme","name":"Acme ID"}]}` {
		t.Fatalf("providers = %s", got)
	}

	f.op.Login(oidctest.User{Subject: "sub-newbie", Email: "newbie@example.com", EmailVerified: verified(true), PreferredUsername: "newbie"})
	p := newPKCE()
	atProvider := b.follow(startURL(pkceQuery(p, "client-state")))
	// Gatehouse sent its own state, a nonce and PKCE S256 to the provider,
	// none of them the client's.
	az, _ := url.Parse(atProvider)
	q := az.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("code_challenge") == p.challenge ||
		q.Get("nonce") == "" || q.Get("state") == "" || q.Get("state") == "client-state" ||
		q.Get("redirect_uri") != testIssuer+"/auth/oauth/acme/callback" || q.Get("scope") != "openid email profile" {
		t.Fatalf("authorization request %s", atProvider)
	}
	callback := b.follow(atProvider)
	to := b.land(callback)
	if to.Scheme+"://"+to.Host+to.Path != appRedirect || to.Query().Get("state") != "client-state" || to.Query().Get("code") == "" || to.Fragment != "" {
		t.Fatalf("landed at %s", to)
	}
	code := to.Query().Get("code")
	// The same callback again: its state is used.
	wantCode(t, b.get(callback), 400, "invalid_state")

	r := f.exchange(code, p.verifier)
	expect(t, r, 200, "")
	access := r.str(t, "access_token")
	if amr := amrOf(t, access); !slices.Equal(amr, []string{"fed"}) {
		t.Fatalf("amr = %q", amr)
	}
	me := f.do("GET", "/me", access, nil).json(t)
	if me["username"] != "newbie" || me["email"] != "newbie@example.com" || me["email_verified"] != true {
		t.Fatalf("me = %v", me)
	}
	// The code is used.
	wantCode(t, f.exchange(code, p.verifier), 400, "invalid_grant")

	ids := f.do("GET", "/me/identities", access, nil).json(t)["identities"].([]any)
	if len(ids) != 1 || ids[0].(map[string]any)["provider"] != "acme" || ids[0].(map[string]any)["subject"] != "sub-newbie" ||
		ids[0].(map[string]any)["email"] != "newbie@example.com" {
		t.Fatalf("identities = %v", ids)
	}
	// The same subject again is the same user, whatever its address now.
	again := f.providerLogin(newBrowser(t, f.env), oidctest.User{Subject: "sub-newbie", Email: "changed@example.com", EmailVerified: verified(true), PreferredUsername: "other"})
	if f.do("GET", "/me", again.access, nil).json(t)["id"] != me["id"] {
		t.Fatal("the same subject signed in as another user")
	}
	// The account has no password: any password is the usual 401.
	for _, pw := range []string{"", "x", "a-fine-password-1"} {
		expect401(t, f.do("POST", "/auth/login", "", map[string]string{"username": "newbie", "password": pw}), "Invalid username or password")
	}
	// Its only identity cannot be unlinked.
	idID := ids[0].(map[string]any)["id"].(string)
	wantCode(t, f.do("DELETE", "/me/identities/"+idID, access, nil), 409, "last_login_method")

	events := f.audit(t, "newbie")
	for _, want := range []string{"user.signed_up provider=acme", "identity.linked provider=acme", "login.succeeded provider=acme"} {
		if !slices.Contains(events, want) {
			t.Errorf("no audit event %q in %q", want, events)
		}
	}
}

// audit lists a user's audit events as "event detail".
func (e *env) audit(t *testing.T, user string) []string {
	t.Helper()
	evs, err := e.app.Store.AuditEvents(context.Background(), auth.AuditFilter{User: user, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, strings.TrimSpace(string(ev.Event)+" "+ev.Detail))
	}
	return out
}

func TestProviderHandOffFailures(t *testing.T) {
	t.Parallel()
	f := startFederated(t, "open", federation.LinkNever)
	user := oidctest.User{Subject: "sub-h", Email: "h@example.com", EmailVerified: verified(true)}
	code := func() (string, pkce) {
		f.op.Login(user)
		p := newPKCE()
		to := newBrowser(t, f.env).signIn(pkceQuery(p, ""))
		return to.Query().Get("code"), p
	}
	// A wrong verifier is refused and uses the code up.
	c, p := code()
	wantCode(t, f.exchange(c, newPKCE().verifier), 400, "invalid_grant")
	wantCode(t, f.exchange(c, p.verifier), 400, "invalid_grant")
	// The challenge itself is no verifier.
	c, p = code()
	wantCode(t, f.exchange(c, p.challenge), 400, "invalid_grant")
	// 60 seconds.
	c, p = code()
	f.clock.advance(61 * time.Second)
	wantCode(t, f.exchange(c, p.verifier), 400, "invalid_grant")
	wantCode(t, f.exchange(newSecretForTest(), p.verifier), 400, "invalid_grant")
	wantCode(t, f.invalid("another grant type").do("POST", "/auth/token", "", map[string]string{"grant_type": "password", "code": "x", "code_verifier": "y"}), 400, "unsupported_grant_type")
	expect(t, f.invalid("no code").do("POST", "/auth/token", "", map[string]string{"grant_type": "authorization_code"}), 422, "Field required: code")

	// Start refuses, in JSON and without a redirect, what it cannot check.
	p = newPKCE()
	for q, want := range map[string]string{
		"redirect_uri=https://evil.example/done&code_challenge=" + p.challenge + "&code_challenge_method=S256":  "invalid_redirect_uri",
		"redirect_uri=https://app.example/done/x&code_challenge=" + p.challenge + "&code_challenge_method=S256": "invalid_redirect_uri",
		"redirect_uri=&mode=cookie":             "invalid_redirect_uri",
		"redirect_uri=https://app.example/done": "invalid_request",
		"redirect_uri=https://app.example/done&code_challenge=" + p.challenge + "&code_challenge_method=plain": "invalid_request",
		"redirect_uri=https://app.example/done&code_challenge=short&code_challenge_method=S256":                "invalid_request",
		"redirect_uri=https://app.example/done&mode=token":                                                     "invalid_request",
		"redirect_uri=https://app.example/done&redirect_uri=https://evil.example/&mode=cookie":                 "invalid_request",
		"redirect_uri=https://app.example/done&mode=cookie&state=" + strings.Repeat("s", 513):                  "invalid_request",
	} {
		r := f.do("GET", "/auth/oauth/acme/start?"+q, "", nil)
		wantCode(t, r, 400, want)
		if r.header.Get("Location") != "" {
			t.Errorf("%s: redirected to %s", q, r.header.Get("Location"))
		}
	}
	wantCode(t, f.do("GET", "/auth/oauth/nope/start?redirect_uri=https://app.example/done&mode=cookie", "", nil), 404, "not_found")
	// A loopback redirect URI on any port (RFC 8252).
	r := newBrowser(t, f.env).get(testIssuer + "/auth/oauth/acme/start?redirect_uri=" + url.QueryEscape("http://127.0.0.1:53682/native") + "&mode=cookie")
	if r.status != 302 {
		t.Fatalf("loopback redirect URI: %d %s", r.status, r.body)
	}

	// Callbacks: unknown state, another browser, a forged binding.
	wantCode(t, newBrowser(t, f.env).get(testIssuer+"/auth/oauth/acme/callback?code=x&state="+newSecretForTest()), 400, "invalid_state")
	f.op.Login(user)
	b := newBrowser(t, f.env)
	callback := b.follow(b.follow(startURL(pkceQuery(newPKCE(), ""))))
	wantCode(t, newBrowser(t, f.env).get(callback), 400, "invalid_state") // the attacker's link, in the victim's browser
	wantCode(t, b.get(strings.Replace(callback, "/acme/", "/other/", 1)), 404, "not_found")
	to := b.land(callback) // still good in the browser that started it
	if to.Query().Get("code") == "" {
		t.Fatalf("landed at %s", to)
	}
}

// A provider that answers wrongly: every case ends at the client with
// error=server_error (access_denied for a refusal), and no account.
func TestProviderBadAnswers(t *testing.T) {
	t.Parallel()
	f := startFederated(t, "open", federation.LinkNever)
	for _, tc := range []struct {
		fault oidctest.Fault
		want  string
	}{
		{oidctest.WrongNonce, "server_error"}, {oidctest.WrongAudience, "server_error"}, {oidctest.WrongIssuer, "server_error"},
		{oidctest.Expired, "server_error"}, {oidctest.BadSignature, "server_error"}, {oidctest.AlgNone, "server_error"},
		{oidctest.TokenError, "server_error"}, {oidctest.Deny, "access_denied"},
	} {
		if tc.fault != oidctest.Deny { // a refusal signs no one in
			f.op.Login(oidctest.User{Subject: fmt.Sprintf("sub-fault-%v", tc.fault), Email: "fault@example.com", EmailVerified: verified(true)})
		}
		f.op.Fault(tc.fault)
		to := newBrowser(t, f.env).signIn(pkceQuery(newPKCE(), "st"))
		if to.Query().Get("error") != tc.want || to.Query().Get("state") != "st" || to.Query().Get("code") != "" {
			t.Errorf("fault %v: landed at %s", tc.fault, to)
		}
	}
	if _, err := f.app.Store.UserByEmail(context.Background(), "fault@example.com"); auth.ErrorCode(err) != auth.ENotFound {
		t.Fatalf("an account was made from a bad answer: %v", err)
	}
	// Userinfo that names another subject than the ID token is refused.
	f.op.Login(oidctest.User{Subject: "sub-swap", Email: "swap@example.com", EmailVerified: verified(true), EmailOnlyInUserinfo: true})
	f.op.Fault(oidctest.OtherSubjectInUserinfo)
	if to := newBrowser(t, f.env).signIn(pkceQuery(newPKCE(), "")); to.Query().Get("error") != "server_error" {
		t.Errorf("userinfo of another subject: landed at %s", to)
	}
	if _, err := f.app.Store.UserByEmail(context.Background(), "swap@example.com"); auth.ErrorCode(err) != auth.ENotFound {
		t.Fatalf("an account was made from another subject's userinfo: %v", err)
	}
	// The email only in userinfo is read from there.
	p := f.providerLogin(newBrowser(t, f.env), oidctest.User{Subject: "sub-ui", Email: "ui@example.com", EmailVerified: verified(true), EmailOnlyInUserinfo: true})
	if me := f.do("GET", "/me", p.access, nil).json(t); me["email"] != "ui@example.com" || me["email_verified"] != true {
		t.Fatalf("me = %v", me)
	}
}

// Linking by address: never by default; with verified_email only when
// both sides are verified; email_verified false or absent never links.
func TestProviderLinkingRules(t *testing.T) {
	t.Parallel()
	never := startFederated(t, "open", federation.LinkNever)
	land := func(f *fedEnv, u oidctest.User) *url.URL {
		f.op.Login(u)
		return newBrowser(t, f.env).signIn(pkceQuery(newPKCE(), ""))
	}
	// Alice's address is verified at Gatehouse; the provider says so too.
	if to := land(never, oidctest.User{Subject: "sub-a1", Email: "alice@example.com", EmailVerified: verified(true)}); to.Query().Get("error") != "account_exists" {
		t.Fatalf("link never: landed at %s", to)
	}
	f := startFederated(t, "open", federation.LinkVerifiedEmail)
	for _, u := range []oidctest.User{
		{Subject: "sub-a2", Email: "alice@example.com"},                                 // email_verified absent
		{Subject: "sub-a3", Email: "alice@example.com", EmailVerified: verified(false)}, // false
		{Subject: "sub-a4", Email: "ALICE@example.com"},                                 // another case, absent
		{Subject: "sub-b1", Email: "bob@example.com", EmailVerified: verified(true)},    // Bob's address is not verified at Gatehouse
	} {
		if to := land(f, u); to.Query().Get("error") != "account_exists" {
			t.Errorf("%+v: landed at %s", u, to)
		}
	}
	for _, who := range []string{"alice", "bob"} {
		if ids, _ := f.app.Store.ListIdentities(context.Background(), f.userID(who)); len(ids) != 0 {
			t.Fatalf("%s got identities %+v", who, ids)
		}
	}
	p := f.providerLogin(newBrowser(t, f.env), oidctest.User{Subject: "sub-a5", Email: "alice@example.com", EmailVerified: verified(true)})
	if me := f.do("GET", "/me", p.access, nil).json(t); me["username"] != "alice" {
		t.Fatalf("verified on both sides: signed in as %v", me)
	}
	if ev := f.audit(t, "alice"); !slices.Contains(ev, "identity.linked provider=acme by=verified_email") {
		t.Fatalf("audit = %q", ev)
	}

	closed := startFederated(t, "closed", federation.LinkNever)
	if to := land(closed, oidctest.User{Subject: "sub-new", Email: "new@example.com", EmailVerified: verified(true)}); to.Query().Get("error") != "signup_closed" {
		t.Fatalf("signup closed: landed at %s", to)
	}
	// A new account from an unverified address keeps it unverified.
	p = never.providerLogin(newBrowser(t, never.env), oidctest.User{Subject: "sub-u", Email: "unverified@example.com"})
	if me := never.do("GET", "/me", p.access, nil).json(t); me["email_verified"] != false {
		t.Fatalf("me = %v", me)
	}
}

// Linking while signed in, identity_taken, unlinking and its guard.
func TestProviderExplicitLinking(t *testing.T) {
	t.Parallel()
	f := startFederated(t, "open", federation.LinkNever)
	alice := f.login("alice", "secret123")
	b := newBrowser(t, f.env)
	link := func(b *userAgent, access string, u oidctest.User) *url.URL {
		t.Helper()
		f.op.Login(u)
		return b.land(b.follow(b.startLink(access)))
	}
	sub := oidctest.User{Subject: "sub-alice", Email: "alice@elsewhere.example"}
	if to := link(b, alice.access, sub); to.Query().Get("linked") != "acme" {
		t.Fatalf("linked: landed at %s", to)
	}
	ids := f.do("GET", "/me/identities", alice.access, nil).json(t)["identities"].([]any)
	if len(ids) != 1 {
		t.Fatalf("identities = %v", ids)
	}
	// Now Alice signs in with it.
	p := f.providerLogin(newBrowser(t, f.env), sub)
	if f.do("GET", "/me", p.access, nil).json(t)["username"] != "alice" {
		t.Fatal("the linked identity signs in someone else")
	}
	// Bob cannot link the same identity.
	bob := f.login("bob", "password456")
	if to := link(newBrowser(t, f.env), bob.access, sub); to.Query().Get("error") != "identity_taken" {
		t.Fatalf("identity_taken: landed at %s", to)
	}
	// The link URL opened in another browser does nothing (linking CSRF).
	f.op.Login(oidctest.User{Subject: "sub-attacker"})
	r := f.do("POST", "/me/identities/acme", bob.access, map[string]string{"redirect_uri": appRedirect})
	expect(t, r, 200, "")
	victim := newBrowser(t, f.env)
	wantCode(t, victim.get(victim.follow(r.str(t, "authorize_url"))), 400, "invalid_state")
	wantCode(t, f.do("POST", "/me/identities/acme", bob.access, map[string]string{"redirect_uri": "https://evil.example/"}), 400, "invalid_redirect_uri")
	expect(t, f.do("POST", "/me/identities/nope", bob.access, map[string]string{"redirect_uri": appRedirect}), 404, "")
	expect(t, f.invalid("no credentials").do("POST", "/me/identities/acme", "", map[string]string{"redirect_uri": appRedirect}), 401, "")

	// Alice has a password: her last identity may go; twice is 404.
	id := ids[0].(map[string]any)["id"].(string)
	expect(t, f.do("DELETE", "/me/identities/"+id, bob.access, nil), 404, "")
	expect(t, f.do("DELETE", "/me/identities/"+id, alice.access, nil), 204, "")
	expect(t, f.do("DELETE", "/me/identities/"+id, alice.access, nil), 404, "")
	if ev := f.audit(t, "alice"); !slices.Contains(ev, "identity.unlinked provider=acme") || !slices.Contains(ev, "identity.linked provider=acme") {
		t.Fatalf("audit = %q", ev)
	}
	// An unlinked identity is unknown again: a new account (signup open).
	p = f.providerLogin(newBrowser(t, f.env), sub)
	if f.do("GET", "/me", p.access, nil).json(t)["username"] == "alice" {
		t.Fatal("an unlinked identity still signs Alice in")
	}
	// A passwordless user with two identities may unlink one, not both.
	if to := link(b, p.access, oidctest.User{Subject: "sub-second"}); to.Query().Get("linked") != "acme" {
		t.Fatalf("second identity: %s", to)
	}
	two := f.do("GET", "/me/identities", p.access, nil).json(t)["identities"].([]any)
	expect(t, f.do("DELETE", "/me/identities/"+two[0].(map[string]any)["id"].(string), p.access, nil), 204, "")
	wantCode(t, f.do("DELETE", "/me/identities/"+two[1].(map[string]any)["id"].(string), p.access, nil), 409, "last_login_method")
}

// Linking needs a recent sign-in: a stolen, older token cannot add a way in.
func TestProviderLinkNeedsRecentSignIn(t *testing.T) {
	t.Parallel()
	f := startFederated(t, "open", federation.LinkNever)
	alice := f.login("alice", "secret123")
	f.clock.advance(11 * time.Minute)
	wantCode(t, f.do("POST", "/me/identities/acme", alice.access, map[string]string{"redirect_uri": appRedirect}), 403, "reauthentication_required")
}

// Cookie mode: the callback sets the session cookies; with a second
// factor it leaves the attempt in a cookie for POST /auth/login/mfa.
func TestProviderCookieModeAndSecondFactor(t *testing.T) {
	t.Parallel()
	op := oidctest.New(t)
	cfg := withProvider(t, testConfig(t), op, federation.LinkNever)
	cfg.Signup = "open"
	m := startMFA(t, cfg)
	f := &fedEnv{env: m.env, op: op}

	b := newBrowser(t, f.env)
	f.op.Login(oidctest.User{Subject: "sub-c", Email: "c@example.com", EmailVerified: verified(true), PreferredUsername: "cookie-user"})
	to := b.signIn(url.Values{"redirect_uri": {testIssuer + "/"}, "mode": {"cookie"}, "state": {"st"}})
	if to.String() != testIssuer+"/?state=st" {
		t.Fatalf("landed at %s", to)
	}
	me := b.get(testIssuer + "/me")
	if me.status != 200 || !strings.Contains(string(me.body), `"username":"cookie-user"`) {
		t.Fatalf("GET /me with the cookies: %d %s", me.status, me.body)
	}

	// Turn TOTP on for this user, with a fresh token of theirs.
	p := f.providerLogin(newBrowser(t, f.env), oidctest.User{Subject: "sub-c"})
	r := f.do("POST", "/me/mfa/totp", p.access, map[string]string{})
	expect(t, r, 200, "")
	secret, _ := totp.Decode(r.str(t, "secret"))
	expect(t, f.do("POST", "/me/mfa/totp/confirm", p.access, map[string]string{"code": m.code(secret)}), 200, "")
	m.clock.step()

	// Token mode: /auth/token answers mfa_required.
	f.op.Login(oidctest.User{Subject: "sub-c"})
	pk := newPKCE()
	to = newBrowser(t, f.env).signIn(pkceQuery(pk, ""))
	r = f.exchange(to.Query().Get("code"), pk.verifier)
	wantCode(t, r, 401, "mfa_required")
	r = f.finish(r.str(t, "mfa_token"), m.code(secret))
	expect(t, r, 200, "")
	if amr := amrOf(t, r.str(t, "access_token")); !slices.Equal(amr, []string{"fed", "otp", "mfa"}) {
		t.Fatalf("amr = %q", amr)
	}
	m.clock.step()

	// Cookie mode: no session until the code.
	b2 := newBrowser(t, f.env)
	f.op.Login(oidctest.User{Subject: "sub-c"})
	to = b2.signIn(url.Values{"redirect_uri": {testIssuer + "/"}, "mode": {"cookie"}})
	if to.Query().Get("mfa_required") != "totp recovery_code" {
		t.Fatalf("landed at %s", to)
	}
	issuer, _ := url.Parse(testIssuer)
	for _, c := range b2.client.Jar.Cookies(issuer) {
		if c.Name == accessName || c.Name == refreshName {
			t.Fatalf("a session cookie before the second factor: %s", c.Name)
		}
	}
	req, _ := http.NewRequest("POST", testIssuer+"/auth/login/mfa", strings.NewReader(`{"code":"`+m.code(secret)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := b2.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"token_type":"cookie"`) {
		t.Fatalf("POST /auth/login/mfa from the cookie: %d %s", res.StatusCode, body)
	}
	if r := b2.get(testIssuer + "/me"); r.status != 200 {
		t.Fatalf("GET /me after the second factor: %d %s", r.status, r.body)
	}
}

// Start on one replica, the callback on another, the exchange on a third.
func TestProviderSignInAcrossReplicas(t *testing.T) {
	t.Parallel()
	pgtest.URL(t)
	op := oidctest.New(t)
	cfg := withProvider(t, testConfig(t), op, federation.LinkNever)
	cfg.Signup = "open"
	rs := clusterWith(t, 3, true, cfg)
	op.Login(oidctest.User{Subject: "sub-r", Email: "r@example.com", EmailVerified: verified(true), PreferredUsername: "replicated"})
	b := newBrowser(t, rs[0])
	p := newPKCE()
	atProvider := b.follow(startURL(pkceQuery(p, "x")))
	callback := b.follow(atProvider)
	b.to(rs[1])
	to := b.land(callback)
	r := rs[2].exchange(to.Query().Get("code"), p.verifier)
	expect(t, r, 200, "")
	if me := rs[0].do("GET", "/me", r.str(t, "access_token"), nil).json(t); me["username"] != "replicated" {
		t.Fatalf("me = %v", me)
	}
	// The used state is used on every replica.
	b.to(rs[2])
	wantCode(t, b.get(callback), 400, "invalid_state")
}

// A sign-in at zitadel/oidc's example provider, a real one with its own
// login form, in token mode.
func TestProviderSignInAtZitadel(t *testing.T) {
	t.Parallel()
	z, err := oidctest.ServeZitadel("127.0.0.1:0", testIssuer+"/auth/oauth/zitadel/callback")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { z.Close() })
	cfg := testConfig(t)
	cfg.Signup = "open"
	ps, err := federation.ParseProviders([]byte(fmt.Sprintf(`[{"id":"zitadel","name":"Zitadel","issuer":%q,"client_id":%q,"client_secret":%q}]`,
		z.Issuer, z.ClientID, oidctest.ZitadelClientSecret)), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, _ := federation.ParseRedirectURIs([]string{appRedirect})
	cfg.Providers = config.Providers{List: ps, Redirects: r}
	e := start(t, cfg)
	b := newBrowser(t, e)
	p := newPKCE()
	at := b.follow(testIssuer + "/auth/oauth/zitadel/start?" + pkceQuery(p, "zs").Encode())
	// Follow the provider to its login page, and sign in there.
	var page resp
	for range 5 {
		page = b.get(at)
		if page.status != http.StatusFound {
			break
		}
		at = resolve(t, at, page.header.Get("Location"))
	}
	id := regexpFind(t, `name="id" value="([^"]+)"`, string(page.body))
	res, err := b.client.PostForm(resolve(t, at, "/login/username"), url.Values{"id": {id}, "username": {z.Username}, "password": {oidctest.ZitadelPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	next := resolve(t, at, res.Header.Get("Location"))
	for !strings.HasPrefix(next, testIssuer) {
		next = resolve(t, next, b.follow(next))
	}
	to := b.land(next)
	if to.Query().Get("state") != "zs" || to.Query().Get("code") == "" {
		t.Fatalf("landed at %s", to)
	}
	tok := e.exchange(to.Query().Get("code"), p.verifier)
	expect(t, tok, 200, "")
	me := e.do("GET", "/me", tok.str(t, "access_token"), nil).json(t)
	if me["email"] != oidctest.ZitadelEmail || me["email_verified"] != true {
		t.Fatalf("me = %v", me)
	}
}

func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

func regexpFind(t *testing.T, pattern, s string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in %.500s", pattern, s)
	}
	return m[1]
}
