// Package app wires Gatehouse's parts together over one database: the
// store, keys, denylist, password hasher, verifier, services and the HTTP
// handler. The command line and the end-to-end tests both start from here.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/federation"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/mfa"
	"github.com/gatehouse/gatehouse/internal/outbox"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/redisbus"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/throttle"
	"github.com/gatehouse/gatehouse/internal/trust"
	"github.com/gatehouse/gatehouse/internal/webpage"
	"github.com/gatehouse/gatehouse/verify"
)

// App is every part of Gatehouse.
type App struct {
	metrics  // the registry that Handler and MetricsHandler share
	Config   config.Config
	Log      *slog.Logger
	Store    *sqlstore.Store
	Keys     *keys.Manager
	Revoked  *revocation.Set
	Poller   *revocation.Poller
	Hasher   *password.Hasher
	Verifier *verify.Verifier
	Login    *login.Service
	Sessions *sessions.Service
	Accounts *accounts.Service
	// MFA manages second factors (TOTP, recovery codes).
	MFA *mfa.Service
	// Trust decides who the bearer of a verified token is, for
	// Gatehouse's own endpoints and `gatehouse token verify`.
	Trust *trust.Resolver
	// Audit records the audit trail and lists it.
	Audit *audit.Recorder
	// Bus fans revocations out through Redis; nil without GATEHOUSE_REDIS_URL.
	Bus *redisbus.Bus
	// Sealer encrypts secrets at rest; nil without GATEHOUSE_ENCRYPTION_KEY.
	Sealer *seal.Sealer
	// Limits keeps the counters of every rate limit (package ratelimit):
	// in Redis when there is one, falling back on this process while Redis
	// is down; in this process otherwise. Declare a limit as a
	// ratelimit.Limit and count on it here.
	Limits RateLimits
	// Mailer composes messages; Outbox sends them in the background,
	// through SMTP or, without GATEHOUSE_SMTP_URL, to the log.
	Mailer *mail.Composer
	Outbox *outbox.Sender
	// Federation signs users in through the identity providers of
	// GATEHOUSE_PROVIDERS_FILE (none: an empty list).
	Federation *federation.Service
	// requests counts the API's requests; busy tells the mail sender
	// from it when the API is busy.
	requests atomic.Int64
	busy     busySignal
}

// busyRate is the request rate, per core, above which the API counts as
// busy for the mail sender: well above what a quiet server sees, well
// below what saturates a core (GET /me answers about 30 000 a second a
// core).
const busyRate = 2000

// busySignal samples a request counter at most every 100 ms and says
// whether the rate since the last sample passes busyRate per core.
type busySignal struct {
	mu    sync.Mutex
	at    time.Time
	count int64
	busy  bool
}

func (b *busySignal) check(count int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if d := now.Sub(b.at); d >= 100*time.Millisecond {
		b.busy = float64(count-b.count)/d.Seconds() > float64(busyRate*runtime.GOMAXPROCS(0))
		b.at, b.count = now, count
	}
	return b.busy
}

// RateLimits is what the flows need of a ratelimit store.
type RateLimits interface {
	Wait(ctx context.Context, keys ...ratelimit.Key) (time.Duration, error)
	Hit(ctx context.Context, keys ...ratelimit.Key) (time.Duration, error)
	Take(ctx context.Context, keys ...ratelimit.Key) (time.Duration, error)
	Reset(ctx context.Context, keys ...ratelimit.Key) error
	Seen(ctx context.Context, k ratelimit.Key) (bool, error)
}

// OwnKeys is the prefix of Gatehouse's own Redis keys (the rate limits'),
// after Options.RedisPrefix. The revocation keys revoked:<jti> and
// revoked-session:<sid> are not under it: other services read them by
// those names, as the tutorial's is_token_revoked reads revoked:<jti>.
const OwnKeys = "gatehouse:"

// Options adjust what Open builds; the zero value is production.
type Options struct {
	// PasswordParams replaces the argon2id parameters (tests use cheap ones).
	PasswordParams *password.Params
	// Hasher replaces the password hasher altogether (tests fill its
	// slots).
	Hasher *password.Hasher
	// RedisPrefix is put before every Redis key and channel (tests use one
	// of their own).
	RedisPrefix string
	// MFAClock replaces the clock that TOTP codes are checked against
	// (tests step it forward instead of waiting 30 seconds).
	MFAClock func() time.Time
	// FederationClock replaces the clock that provider sign-ins (their
	// states and hand-off codes) expire by (tests).
	FederationClock func() time.Time
	// FederationClient makes the calls to identity providers (a 10 s
	// timeout by default).
	FederationClient *http.Client
}

// OpenStore opens and migrates the database.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*sqlstore.Store, error) {
	st, err := sqlstore.Open(ctx, cfg.DatabaseURL, sqlstore.Options{Logger: log, InsecureAllowSharedFile: cfg.SQLiteAllowSharedFile})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return st, nil
}

// Open opens the database, loads the keys and the denylist, and builds the
// services. Close it when done.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*App, error) {
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Store: st}
	if err := a.init(ctx, opt); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) init(ctx context.Context, opt Options) error {
	cfg := a.Config
	a.Audit = audit.New(a.Store, a.Log, cfg.AuditRetention)
	if cfg.RedisURL != "" {
		bus, err := redisbus.Open(ctx, cfg.RedisURL, redisbus.Options{Prefix: opt.RedisPrefix, Log: a.Log})
		if err != nil {
			return fmt.Errorf("GATEHOUSE_REDIS_URL: %w", err)
		}
		a.Bus = bus
	}
	if err := a.initKeys(ctx); err != nil {
		return err
	}
	a.Revoked = revocation.NewSet(nil)
	a.Poller = &revocation.Poller{Set: a.Revoked, Source: a.Store, Interval: time.Second, Log: a.Log}
	if err := a.Poller.Load(ctx); err != nil {
		return err
	}
	if a.Bus != nil {
		a.Revoked.SetPublisher(a.Bus, a.Log)
	}
	params := password.DefaultParams
	if opt.PasswordParams != nil {
		params = *opt.PasswordParams
	}
	a.Limits = a.rateLimits()
	thr, err := a.throttle()
	if err != nil {
		return err
	}
	hasher, err := password.New(params, 0, cfg.LoginWait)
	if err != nil {
		return err
	}
	a.Hasher = hasher
	if opt.Hasher != nil {
		a.Hasher = opt.Hasher
	}
	a.Verifier, err = verify.New(ctx, verify.Config{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Algorithms: a.Keys.Algorithms(),
		KeySet: a.Keys, Leeway: cfg.Leeway, Revocations: a.Revoked,
	})
	if err != nil {
		return err
	}
	a.Trust = trust.New(a.Store, trust.Options{})
	a.Revoked.OnSessionRevoked(a.Trust.Forget)
	a.Sessions = sessions.New(sessions.Config{
		Store: a.Store, Signers: a.Keys, Verifier: a.Verifier, Denylist: a.Revoked,
		Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL,
		ReuseInterval: cfg.ReuseInterval, Log: a.Log, Audit: a.Audit, Cache: a.Trust,
		Rates:            a.Limits,
		RefreshesPerAddr: ratelimit.PerMinute("refresh-addr", cfg.RefreshRate),
		RevokesPerAddr:   ratelimit.PerMinute("revoke-addr", cfg.RevokeRate),
		// Far more than a client needs (one revocation per token it holds),
		// far less than a loop that fills the denylist.
		RevokesPerSession:  ratelimit.PerMinute("revoke-session", 60),
		RefreshesPerSess:   auth.Rate{Max: cfg.SessionRefreshRate, Window: time.Minute},
		MaxSessionsPerUser: cfg.MaxSessionsPerUser,
	})
	transport, err := a.initMail()
	if err != nil {
		return err
	}
	a.Accounts = accounts.New(accounts.Config{
		Store: a.Store, Passwords: a.Hasher, Policy: password.ValidatePolicy, Denylist: a.Revoked,
		Guesses: thr, AccessTTL: cfg.AccessTTL, Audit: a.Audit, Log: a.Log,
		Mailer: a.Mailer, Sends: a.Limits, ResetTTL: cfg.Mail.ResetTTL, VerifyTTL: cfg.Mail.VerifyTTL,
		ForgotPerAddr:  ratelimit.PerMinute("forgot-addr", cfg.Mail.ForgotRate),
		SendsPerMinute: &cfg.Mail.PerAddressMinute, SendsPerHour: &cfg.Mail.PerAddressHour,
		Wake: a.wakeOutbox,
	})
	var sealer mfa.Sealer
	if a.Sealer != nil {
		sealer = a.Sealer
	}
	guesses := mfa.NewGuesses(a.Limits)
	a.MFA = mfa.New(mfa.Config{
		Store: a.Store, Passwords: a.Accounts, Notices: a.Accounts, Denylist: a.Revoked, Sealer: sealer,
		Issuer: cfg.Mail.Product, AccessTTL: cfg.AccessTTL, Audit: a.Audit, Guesses: guesses, Changed: a.Accounts.Forget, Now: opt.MFAClock,
	})
	a.Login = login.New(login.Config{
		Users: a.Store, Passwords: a.Hasher, Sessions: a.Sessions, Attempts: a.Store,
		SecondFactors: a.MFA.Factors(), Codes: guesses,
		Throttle: thr, Audit: a.Audit, Log: a.Log,
		Rates: a.Limits, SignIns: ratelimit.PerMinute("signin-addr", cfg.SignInRate),
	})
	a.Federation = federation.New(federation.Config{
		Providers: cfg.Providers.List, Redirects: cfg.Providers.Redirects, CallbackBase: cfg.Issuer,
		Store: a.Store, Login: a.Login, SignupOpen: cfg.Signup == "open", Audit: a.Audit, Log: a.Log,
		Now: opt.FederationClock, HTTPClient: opt.FederationClient,
	})
	a.Outbox = outbox.New(outbox.Config{
		Store: a.Store, Transport: transport, Resolver: a.Accounts, Audit: a.Audit, Log: a.Log, Registry: a.registry(),
		MinBackoff: cfg.Mail.RetryMin, MaxBackoff: cfg.Mail.RetryMax, Rate: float64(cfg.Mail.Rate),
		Busy: func() bool { return a.busy.check(a.requests.Load()) },
	})
	return nil
}

// wakeOutbox tells this process's sender that a message is waiting.
func (a *App) wakeOutbox() {
	if a.Outbox != nil {
		a.Outbox.Wake()
	}
}

// initMail builds the composer, and the transport the sender uses: SMTP
// when GATEHOUSE_SMTP_URL is set, the log otherwise. With an encryption
// key, the bodies that wait in the outbox (live links) are sealed, and
// opened only to be sent.
func (a *App) initMail() (mail.Transport, error) {
	m := a.Config.Mail.WithDefaults(a.Config.Issuer)
	var sealer mail.Sealer
	if a.Sealer != nil {
		sealer = a.Sealer
	}
	c, err := mail.NewComposer(mail.Config{Product: m.Product, LinkBase: m.LinkBase, From: m.From, Templates: m.Templates, Sealer: sealer})
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	a.Mailer = c
	if m.SMTPURL == "" {
		return mail.Unsealing(mail.NewLog(a.Log), sealer), nil
	}
	smtp, err := mail.NewSMTP(m.SMTPURL, m.From, a.Log)
	if err != nil {
		return nil, err
	}
	return mail.Unsealing(smtp, sealer), nil
}

// rateLimits counts in Redis when there is one, under OwnKeys, falling
// back on this process's counters while Redis is down; in this process
// only otherwise.
func (a *App) rateLimits() RateLimits {
	local := ratelimit.NewMemory(0, nil)
	if a.Bus == nil {
		return local
	}
	return ratelimit.NewFailover(ratelimit.NewRedis(a.Bus.Client(), a.Bus.Prefix()+OwnKeys), local, a.Log)
}

// throttle counts failed logins on a.Limits.
func (a *App) throttle() (*throttle.Throttle, error) {
	cfg := a.Config
	return throttle.New(a.Limits, throttle.Policy{
		AccountFree: cfg.LoginAccountFailures, AddressFree: cfg.LoginAddressFailures,
		AccountWideFree: cfg.LoginAccountWideFailures,
		BaseDelay:       cfg.LoginBackoff, MaxDelay: cfg.LoginBackoffMax, Forget: cfg.LoginForget,
	})
}

// Close releases the database and Redis.
func (a *App) Close() error {
	if a.Bus != nil {
		a.Bus.Close()
	}
	return a.Store.Close()
}

// checks are what /readyz asks.
func (a *App) checks() []server.Check {
	c := []server.Check{{Name: "database", Ping: a.Store.Ping}}
	if a.Bus != nil {
		c = append(c, server.Check{Name: "redis", Ping: a.Bus.Ping})
	}
	return c
}

// Handler returns the HTTP API, and the web page when it is on.
func (a *App) Handler() http.Handler {
	cfg := server.Config{
		Login: a.Login, Sessions: a.Sessions, Accounts: a.Accounts, MFA: a.MFA, Federation: a.Federation, MFARequiredRoles: a.Config.MFARequiredRoles, Trust: a.Trust, Keys: a.Keys, Verifier: a.Verifier, Audit: a.Audit,
		Checks: a.checks(), Revocations: a.Store, RevocationsToken: a.Config.RevocationsToken, Issuer: a.Config.Issuer,
		SignupOpen: a.Config.Signup == "open", TrustedProxies: a.Config.TrustedProxies, Log: a.Log,
		Browser: browser(a.Config), HSTS: strings.HasPrefix(a.Config.Issuer, "https://"),
		Registry: a.registry(), MetricsElsewhere: a.Config.MetricsAddr != "", Requests: &a.requests,
	}
	if a.Config.Browser.Page {
		cfg.WebPage = webpage.Handler
	}
	return server.New(cfg)
}

// browser maps the browser settings onto the server's.
func browser(c config.Config) server.Browser {
	b := c.Browser
	sameSite := map[string]http.SameSite{"strict": http.SameSiteStrictMode, "lax": http.SameSiteLaxMode, "none": http.SameSiteNoneMode}
	return server.Browser{
		AccessCookie: b.AccessCookie, RefreshCookie: b.RefreshCookie, Domain: b.CookieDomain,
		Secure: b.CookieSecure, SameSite: sameSite[b.CookieSameSite], RefreshTTL: c.RefreshTTL,
		AllowedOrigins: b.AllowedOrigins,
	}
}

// RunBackground starts the loops that keep this process in step with the
// database, until ctx ends: keys, revocations, the mail sender, and pruning
// of expired rows and of audit events older than the retention. The func
// it returns waits, once ctx has ended, until the sender has recorded the
// outcome of the sends it had under way: call it before Close, or a
// message sent may be sent again once its lease ends.
func (a *App) RunBackground(ctx context.Context) (wait func()) {
	a.runKeys(ctx)
	go a.Poller.Run(ctx)
	if a.Bus != nil {
		// On every (re)subscription the whole denylist is reloaded, so
		// nothing published while Redis was away stays missed.
		go a.Bus.Run(ctx, a.Poller.Load, func(recs []auth.Revocation) { a.Revoked.Add(recs...) })
	} else if a.Store.CanListen() {
		// PostgreSQL without Redis: LISTEN/NOTIFY wakes a poll at once.
		go a.Store.Listen(ctx, a.Poller.Load, a.pollNow)
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		if err := a.Outbox.Run(ctx); err != nil {
			a.Log.Error("the mail sender stopped", "err", err)
		}
	}()
	go a.Federation.Discover(ctx)
	go every(ctx, 10*time.Minute, func() { a.pruneOnce(ctx, time.Now()) })
	go every(ctx, 5*time.Second, func() { a.Audit.Flush(ctx) })
	return func() { <-sent }
}

// every calls f every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

func (a *App) pollNow(ctx context.Context) {
	if err := a.Poller.Poll(ctx); err != nil && ctx.Err() == nil {
		a.Log.Warn("reading new revocations failed", "err", err)
	}
}

// pruneOnce deletes what has expired at now, and the audit events older
// than the retention.
func (a *App) pruneOnce(ctx context.Context, now time.Time) {
	if n, err := a.Store.Prune(ctx, now); err != nil {
		a.Log.Warn("pruning expired rows failed", "err", err)
	} else if n > 0 {
		a.Log.Info("pruned expired rows", "rows", n)
	}
	if n, err := a.Audit.Prune(ctx, now); err != nil {
		a.Log.Warn("pruning old audit events failed", "err", err)
	} else if n > 0 {
		a.Log.Info("pruned old audit events", "events", n, "retention", a.Config.AuditRetention)
	}
}

// DemoUsers are the tutorial's accounts, created by serve --demo.
// Alice's address counts as verified; Bob's does not, so that verifying
// an address can be tried on him.
var DemoUsers = []struct {
	Name, Password string
	Role           auth.Role
	Email          string
	EmailVerified  bool
}{
	{"alice", "secret123", auth.RoleAdmin, "alice@example.com", true},
	{"bob", "password456", auth.RoleUser, "bob@example.com", false},
}

// CreateDemoUsers adds the demo users that do not exist yet. They bypass
// the password policy: their passwords are the tutorial's.
func (a *App) CreateDemoUsers(ctx context.Context) error {
	for _, d := range DemoUsers {
		if _, err := a.Store.UserByName(ctx, d.Name); err == nil {
			continue
		}
		hash, err := a.Hasher.Hash(ctx, d.Password)
		if err != nil {
			return err
		}
		u := auth.User{Username: d.Name, Role: d.Role, Active: true, PasswordHash: hash, Email: d.Email, EmailVerified: d.EmailVerified}
		if err := a.Store.CreateUser(ctx, &u, auth.Effects{}); err != nil && auth.ErrorCode(err) != auth.EConflict {
			return fmt.Errorf("create demo user %s: %w", d.Name, err)
		}
	}
	return nil
}
