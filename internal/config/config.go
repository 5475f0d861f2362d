// Package config reads Gatehouse's settings from the environment and from
// command-line flags (flags win), and refuses a bad setting at start with
// one line that names the variable and the fix.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

// Config is every setting of the server and the CLI.
type Config struct {
	Addr          string
	DatabaseURL   string
	RedisURL      string
	Issuer        string
	Audience      string
	SigningAlg    string
	JWTSecret     string
	AccessTTL     time.Duration
	RefreshTTL    time.Duration
	ReuseInterval time.Duration
	Signup        string // "open" or "closed"
	LogFormat     string // "text" or "json"

	// KeyPublishDelay is how long a new signing key is published in the
	// JWKS before it signs, so that verifiers' caches pick it up first.
	KeyPublishDelay time.Duration
	// KeyRotateEvery rotates the signing key automatically when it is this
	// old; 0 leaves rotation to `gatehouse keys rotate`.
	KeyRotateEvery time.Duration
	// DebugAddr, when set, serves net/http/pprof there; it must be a
	// loopback address.
	DebugAddr string
	// LoginWait is how long a login may wait for a password-hashing slot
	// before it is refused with 503.
	LoginWait time.Duration
	// Leeway is the clock skew allowed when Gatehouse verifies its own
	// tokens (at most verify.MaxLeeway).
	Leeway time.Duration
	// Browser holds cookie mode, CORS and web-page settings.
	Browser Browser

	// Login throttling: failures allowed per account and client address,
	// and per client address, before each further failure waits
	// LoginBackoff, doubling up to LoginBackoffMax; counters idle for
	// LoginForget start again. Past LoginAccountWideFailures failures of
	// one account from all addresses (0: no such limit), addresses that
	// have never logged in to it wait too.
	LoginAccountFailures     int
	LoginAddressFailures     int
	LoginAccountWideFailures int
	LoginBackoff             time.Duration
	LoginBackoffMax          time.Duration
	LoginForget              time.Duration

	// Request rates, per minute (0: no limit): sign-in attempts, refreshes
	// and revocations per client address (IPv6 per /64), whatever their
	// outcome, and refreshes per session; and the most live sessions a
	// user may hold (the oldest ends when a new one would pass it).
	SignInRate         int
	RefreshRate        int
	SessionRefreshRate int
	RevokeRate         int
	MaxSessionsPerUser int

	// TrustedProxies are the peers whose X-Forwarded-For is believed; empty
	// means the client address is always the peer's.
	TrustedProxies []netip.Prefix
	// AuditRetention is how long audit events are kept; 0 keeps them
	// forever.
	AuditRetention time.Duration
	// RevocationsToken, when set, is the bearer secret that GET
	// /auth/revocations requires (environment only: never a flag).
	RevocationsToken string
	// SQLiteAllowSharedFile accepts an SQLite database file that group or
	// others may access; by default such a file is refused at start.
	SQLiteAllowSharedFile bool
	// MetricsAddr, when set, serves /metrics on a listener of its own
	// there, and the API answers /metrics 404.
	MetricsAddr string
	// EncryptionKey seals secrets at rest (GATEHOUSE_ENCRYPTION_KEY);
	// nil stores them unsealed. EncryptionKeysOld still open what they
	// sealed (GATEHOUSE_ENCRYPTION_KEY_OLD). See encryption.go.
	EncryptionKey     []byte
	EncryptionKeysOld [][]byte
	// Mail is how messages are composed and sent (mail.go).
	Mail Mail
	// MFARequiredRoles are the roles whose users must log in with a
	// second factor to use the admin API (GATEHOUSE_MFA_REQUIRED_ROLES).
	MFARequiredRoles []string
	// Providers are the identity providers (providers.go).
	Providers Providers
}

// Defaults returns the built-in settings.
func Defaults() Config {
	return Config{
		Addr:            "127.0.0.1:8000",
		DatabaseURL:     "sqlite:gatehouse.db",
		SigningAlg:      "ES256",
		AccessTTL:       30 * time.Minute,
		RefreshTTL:      168 * time.Hour,
		ReuseInterval:   10 * time.Second,
		Signup:          "closed",
		LogFormat:       "text",
		KeyPublishDelay: 5 * time.Minute,
		LoginWait:       250 * time.Millisecond,
		Leeway:          30 * time.Second,
		Browser: Browser{
			CookieSecure: true, CookieSameSite: "strict",
			AccessCookie: "__Host-gatehouse_access", RefreshCookie: "__Secure-gatehouse_refresh",
		},

		LoginAccountFailures:     5,
		LoginAddressFailures:     50,
		LoginAccountWideFailures: 100,
		LoginBackoff:             time.Second,
		LoginBackoffMax:          15 * time.Minute,
		LoginForget:              time.Hour,
		SignInRate:               1200,
		RefreshRate:              1200,
		SessionRefreshRate:       60,
		RevokeRate:               600,
		MaxSessionsPerUser:       100,
		AuditRetention:           90 * 24 * time.Hour,
		Mail:                     defaultMail(),
	}
}

// Loader binds a Config to the environment and to a FlagSet.
type Loader struct {
	cfg    Config
	getenv func(string) string
	algSet bool // GATEHOUSE_SIGNING_ALG or --signing-alg given
	// pageSet and secureSet say the web page and Secure cookies were set
	// explicitly, so that --demo leaves them be.
	pageSet, secureSet, demo      bool
	accessNameSet, refreshNameSet bool
	// trustedProxies is GATEHOUSE_TRUSTED_PROXIES or --trusted-proxies,
	// parsed by Load.
	trustedProxies string
	errs           []error
}

// NewLoader starts from Defaults and the environment (read through getenv,
// usually os.Getenv). Bad environment values are reported by Load.
func NewLoader(getenv func(string) string) *Loader {
	l := &Loader{cfg: Defaults(), getenv: getenv}
	l.str("GATEHOUSE_ADDR", &l.cfg.Addr)
	l.str("GATEHOUSE_DATABASE_URL", &l.cfg.DatabaseURL)
	l.str("GATEHOUSE_REDIS_URL", &l.cfg.RedisURL)
	l.str("GATEHOUSE_ISSUER", &l.cfg.Issuer)
	l.str("GATEHOUSE_AUDIENCE", &l.cfg.Audience)
	l.algSet = l.str("GATEHOUSE_SIGNING_ALG", &l.cfg.SigningAlg)
	// Not trimmed: a secret padded with white space is refused, not
	// silently changed into one that other services may not share.
	if v := getenv("JWT_SECRET_KEY"); v != "" {
		l.cfg.JWTSecret = v
	}
	l.dur("GATEHOUSE_ACCESS_TTL", &l.cfg.AccessTTL)
	l.dur("GATEHOUSE_REFRESH_TTL", &l.cfg.RefreshTTL)
	l.dur("GATEHOUSE_REFRESH_REUSE_INTERVAL", &l.cfg.ReuseInterval)
	l.str("GATEHOUSE_SIGNUP", &l.cfg.Signup)
	l.str("GATEHOUSE_LOG_FORMAT", &l.cfg.LogFormat)
	l.dur("GATEHOUSE_KEY_PUBLISH_DELAY", &l.cfg.KeyPublishDelay)
	l.dur("GATEHOUSE_KEY_ROTATE_EVERY", &l.cfg.KeyRotateEvery)
	l.dur("GATEHOUSE_LOGIN_WAIT", &l.cfg.LoginWait)
	l.dur("GATEHOUSE_CLOCK_LEEWAY", &l.cfg.Leeway)
	l.dur("GATEHOUSE_AUDIT_RETENTION", &l.cfg.AuditRetention)
	l.str("GATEHOUSE_DEBUG_ADDR", &l.cfg.DebugAddr)
	l.str("GATEHOUSE_METRICS_ADDR", &l.cfg.MetricsAddr)
	l.browserEnv()
	l.integer("GATEHOUSE_LOGIN_ACCOUNT_FAILURES", &l.cfg.LoginAccountFailures)
	l.integer("GATEHOUSE_LOGIN_ADDRESS_FAILURES", &l.cfg.LoginAddressFailures)
	l.integer("GATEHOUSE_LOGIN_ACCOUNT_WIDE_FAILURES", &l.cfg.LoginAccountWideFailures)
	l.integer("GATEHOUSE_SIGNIN_RATE", &l.cfg.SignInRate)
	l.integer("GATEHOUSE_REFRESH_RATE", &l.cfg.RefreshRate)
	l.integer("GATEHOUSE_SESSION_REFRESH_RATE", &l.cfg.SessionRefreshRate)
	l.integer("GATEHOUSE_REVOKE_RATE", &l.cfg.RevokeRate)
	l.integer("GATEHOUSE_MAX_SESSIONS_PER_USER", &l.cfg.MaxSessionsPerUser)
	l.dur("GATEHOUSE_LOGIN_BACKOFF", &l.cfg.LoginBackoff)
	l.dur("GATEHOUSE_LOGIN_BACKOFF_MAX", &l.cfg.LoginBackoffMax)
	l.dur("GATEHOUSE_LOGIN_FORGET", &l.cfg.LoginForget)
	l.str("GATEHOUSE_TRUSTED_PROXIES", &l.trustedProxies)
	l.str("GATEHOUSE_REVOCATIONS_TOKEN", &l.cfg.RevocationsToken)
	l.boolean("GATEHOUSE_SQLITE_ALLOW_SHARED_FILE", &l.cfg.SQLiteAllowSharedFile)
	l.encryptionEnv()
	l.mailEnv()
	l.providersEnv()
	if v, ok := l.lookup("GATEHOUSE_MFA_REQUIRED_ROLES"); ok {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				l.cfg.MFARequiredRoles = append(l.cfg.MFARequiredRoles, r)
			}
		}
	}
	return l
}

func (l *Loader) str(name string, dst *string) bool {
	v, ok := l.lookup(name)
	if ok {
		*dst = v
	}
	return ok
}

func (l *Loader) dur(name string, dst *time.Duration) {
	v, ok := l.lookup(name)
	if !ok {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s=%q is not a duration: use Go duration syntax such as 30m, 168h or 10s", name, v))
		return
	}
	*dst = d
}

func (l *Loader) integer(name string, dst *int) {
	v, ok := l.lookup(name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s=%q is not a whole number: use for example 5", name, v))
		return
	}
	*dst = n
}

func (l *Loader) lookup(name string) (string, bool) {
	v := strings.TrimSpace(l.getenv(name))
	return v, v != ""
}

// StoreFlags registers the flags that every command touching the database
// needs.
func (l *Loader) StoreFlags(fs *flag.FlagSet) {
	fs.StringVar(&l.cfg.DatabaseURL, "database-url", l.cfg.DatabaseURL, "`URL` of the database: sqlite:PATH or postgres://… (GATEHOUSE_DATABASE_URL)")
	fs.StringVar(&l.cfg.RedisURL, "redis-url", l.cfg.RedisURL, "`URL` of Redis for shared revocations, redis://… (GATEHOUSE_REDIS_URL)")
	fs.StringVar(&l.cfg.LogFormat, "log-format", l.cfg.LogFormat, "log format: text or json (GATEHOUSE_LOG_FORMAT)")
	fs.BoolVar(&l.cfg.SQLiteAllowSharedFile, "sqlite-allow-shared-file", l.cfg.SQLiteAllowSharedFile, "accept an SQLite database file that other users may read; refused by default (GATEHOUSE_SQLITE_ALLOW_SHARED_FILE)")
}

// TokenFlags registers the flags that define tokens and keys.
func (l *Loader) TokenFlags(fs *flag.FlagSet) {
	fs.StringVar(&l.cfg.Addr, "addr", l.cfg.Addr, "listen `address` (GATEHOUSE_ADDR)")
	fs.StringVar(&l.cfg.Issuer, "issuer", l.cfg.Issuer, "the iss claim and discovery issuer; default http:// + listen address (GATEHOUSE_ISSUER)")
	fs.StringVar(&l.cfg.Audience, "audience", l.cfg.Audience, "the aud claim, required when verifying if set (GATEHOUSE_AUDIENCE)")
	fs.Func("signing-alg", "signing algorithm: ES256, EdDSA, RS256 or HS256 (GATEHOUSE_SIGNING_ALG; default ES256, or HS256 when JWT_SECRET_KEY is set)", func(v string) error {
		l.cfg.SigningAlg, l.algSet = v, true
		return nil
	})
	fs.DurationVar(&l.cfg.AccessTTL, "access-ttl", l.cfg.AccessTTL, "access-token lifetime (GATEHOUSE_ACCESS_TTL)")
	fs.DurationVar(&l.cfg.RefreshTTL, "refresh-ttl", l.cfg.RefreshTTL, "refresh-token (session) lifetime (GATEHOUSE_REFRESH_TTL)")
	fs.DurationVar(&l.cfg.ReuseInterval, "refresh-reuse-interval", l.cfg.ReuseInterval, "grace window for a just-rotated refresh token; 0s disables it (GATEHOUSE_REFRESH_REUSE_INTERVAL)")
	fs.DurationVar(&l.cfg.KeyPublishDelay, "key-publish-delay", l.cfg.KeyPublishDelay, "how long a new key is published before it signs (GATEHOUSE_KEY_PUBLISH_DELAY)")
	fs.DurationVar(&l.cfg.KeyRotateEvery, "key-rotate-every", l.cfg.KeyRotateEvery, "rotate the signing key when it is this old; 0 never (GATEHOUSE_KEY_ROTATE_EVERY)")
}

// ServeFlags registers the flags only the server needs.
func (l *Loader) ServeFlags(fs *flag.FlagSet) {
	fs.StringVar(&l.cfg.Signup, "signup", l.cfg.Signup, "open enables POST /auth/signup (GATEHOUSE_SIGNUP)")
	fs.StringVar(&l.cfg.MetricsAddr, "metrics-addr", l.cfg.MetricsAddr, "`address` of a listener of its own for /metrics, which the API then answers 404; empty: /metrics on the API (GATEHOUSE_METRICS_ADDR)")
	fs.StringVar(&l.cfg.DebugAddr, "debug-addr", l.cfg.DebugAddr, "loopback `address` for pprof profiles, off when empty (GATEHOUSE_DEBUG_ADDR)")
	fs.DurationVar(&l.cfg.LoginWait, "login-wait", l.cfg.LoginWait, "longest wait for a password-hashing slot before 503 (GATEHOUSE_LOGIN_WAIT)")
	l.browserFlags(fs)
	fs.IntVar(&l.cfg.LoginAccountFailures, "login-account-failures", l.cfg.LoginAccountFailures, "failed logins allowed per account and client address before waits begin (GATEHOUSE_LOGIN_ACCOUNT_FAILURES)")
	fs.IntVar(&l.cfg.LoginAddressFailures, "login-address-failures", l.cfg.LoginAddressFailures, "failed logins allowed per client address, all accounts, before waits begin (GATEHOUSE_LOGIN_ADDRESS_FAILURES)")
	fs.IntVar(&l.cfg.LoginAccountWideFailures, "login-account-wide-failures", l.cfg.LoginAccountWideFailures, "failed logins allowed per account, all addresses, before addresses that never logged in to it wait; 0 for no such limit (GATEHOUSE_LOGIN_ACCOUNT_WIDE_FAILURES)")
	fs.DurationVar(&l.cfg.LoginBackoff, "login-backoff", l.cfg.LoginBackoff, "the first wait after the allowed failures; each further failure doubles it (GATEHOUSE_LOGIN_BACKOFF)")
	fs.DurationVar(&l.cfg.LoginBackoffMax, "login-backoff-max", l.cfg.LoginBackoffMax, "the longest wait between login attempts (GATEHOUSE_LOGIN_BACKOFF_MAX)")
	fs.DurationVar(&l.cfg.LoginForget, "login-forget", l.cfg.LoginForget, "failed logins are forgotten after this long without one (GATEHOUSE_LOGIN_FORGET)")
	fs.StringVar(&l.trustedProxies, "trusted-proxies", l.trustedProxies, "comma-separated `CIDRs or IPs` of reverse proxies whose X-Forwarded-For is believed; empty: none (GATEHOUSE_TRUSTED_PROXIES)")
	fs.DurationVar(&l.cfg.AuditRetention, "audit-retention", l.cfg.AuditRetention, "how long audit events are kept; 0 forever (GATEHOUSE_AUDIT_RETENTION)")
	l.providerFlags(fs)
}

// Load validates the settings and returns them. The error is one line per
// problem, each naming the variable and the fix.
func (l *Loader) Load() (Config, error) {
	c := l.cfg
	if !l.algSet && c.JWTSecret != "" {
		c.SigningAlg = "HS256"
	}
	if c.Issuer == "" {
		c.Issuer = defaultIssuer(c.Addr)
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	c.Browser.AllowedOrigins = append([]string(nil), c.Browser.AllowedOrigins...)
	l.finishBrowser(&c)
	c.Mail = c.Mail.WithDefaults(c.Issuer)
	errs := append([]error(nil), l.errs...)
	proxies, err := ParseTrustedProxies(l.trustedProxies)
	if err != nil {
		errs = append(errs, err)
	}
	c.TrustedProxies = proxies
	errs = append(errs, l.finishProviders(&c)...)
	errs = append(errs, c.validate()...)
	return c, errors.Join(errs...)
}

func defaultIssuer(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (c Config) validate() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(c.validateAddr())
	add(c.validateDebugAddr())
	add(c.validateMetricsAddr())
	add(c.validateDatabase())
	add(c.validateIssuer())
	add(c.validateSigning())
	add(c.validateLifetimes())
	add(c.validateThrottle())
	add(c.validateRevocationsToken())
	add(oneOf("GATEHOUSE_SIGNUP", c.Signup, "open", "closed"))
	add(oneOf("GATEHOUSE_LOG_FORMAT", c.LogFormat, "text", "json"))
	errs = append(errs, c.validateBrowser()...)
	errs = append(errs, c.validateMail()...)
	for _, r := range c.MFARequiredRoles {
		if len(r) > 32 || strings.Trim(r, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
			errs = append(errs, fmt.Errorf("GATEHOUSE_MFA_REQUIRED_ROLES: %q is not a role (a-z, 0-9, _ and -, at most 32): use for example admin", r))
		}
	}
	return errs
}

func (c Config) validateAddr() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("GATEHOUSE_ADDR=%q is not host:port: use for example 127.0.0.1:8000 or :8000", c.Addr)
	}
	return nil
}

func (c Config) validateDebugAddr() error {
	if c.DebugAddr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.DebugAddr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return fmt.Errorf("GATEHOUSE_DEBUG_ADDR=%q must be a loopback host:port such as 127.0.0.1:6060: profiles are not for the network", c.DebugAddr)
	}
	return nil
}

func (c Config) validateMetricsAddr() error {
	if c.MetricsAddr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil || c.MetricsAddr == c.Addr {
		return fmt.Errorf("GATEHOUSE_METRICS_ADDR=%q is not a host:port other than GATEHOUSE_ADDR: use for example 10.0.0.5:9100 or 127.0.0.1:9100", c.MetricsAddr)
	}
	return nil
}

func (c Config) validateDatabase() error {
	u := c.DatabaseURL
	switch {
	case strings.HasPrefix(u, "sqlite:") && len(u) > len("sqlite:"):
		return nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return nil
	}
	return fmt.Errorf("GATEHOUSE_DATABASE_URL=%q is not supported: use sqlite:PATH or postgres://user@host/db", u)
}

func (c Config) validateIssuer() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("GATEHOUSE_ISSUER=%q is not an http(s) URL without query: use for example https://auth.example.com", c.Issuer)
	}
	return nil
}

func (c Config) validateLifetimes() error {
	switch {
	case c.AccessTTL < time.Second || c.AccessTTL > 24*time.Hour:
		return fmt.Errorf("GATEHOUSE_ACCESS_TTL=%s is out of range: use 1s to 24h (15m–30m is usual)", c.AccessTTL)
	case c.RefreshTTL <= c.AccessTTL:
		return fmt.Errorf("GATEHOUSE_REFRESH_TTL=%s must be longer than GATEHOUSE_ACCESS_TTL=%s", c.RefreshTTL, c.AccessTTL)
	case c.ReuseInterval < 0 || c.ReuseInterval > 5*time.Minute:
		return fmt.Errorf("GATEHOUSE_REFRESH_REUSE_INTERVAL=%s is out of range: use 0s to 5m (10s is usual)", c.ReuseInterval)
	case c.KeyPublishDelay < 0 || c.KeyPublishDelay > 24*time.Hour:
		return fmt.Errorf("GATEHOUSE_KEY_PUBLISH_DELAY=%s is out of range: use 0s to 24h", c.KeyPublishDelay)
	case c.KeyRotateEvery != 0 && c.KeyRotateEvery < c.KeyPublishDelay+c.AccessTTL:
		return fmt.Errorf("GATEHOUSE_KEY_ROTATE_EVERY=%s is shorter than the publish delay plus the access-token lifetime: use 0 (never) or a longer interval such as 720h", c.KeyRotateEvery)
	case c.Leeway < 0 || c.Leeway > verify.MaxLeeway:
		return fmt.Errorf("GATEHOUSE_CLOCK_LEEWAY=%s is out of range: use 0s to %s", c.Leeway, verify.MaxLeeway)
	case c.LoginWait < 0 || c.LoginWait > 30*time.Second:
		return fmt.Errorf("GATEHOUSE_LOGIN_WAIT=%s is out of range: use 0s to 30s", c.LoginWait)
	case c.AuditRetention != 0 && c.AuditRetention < time.Hour:
		return fmt.Errorf("GATEHOUSE_AUDIT_RETENTION=%s is out of range: use 0 (keep forever) or at least 1h, such as 2160h (90 days)", c.AuditRetention)
	}
	return nil
}

func (c Config) validateThrottle() error {
	switch {
	case c.LoginAccountFailures < 0 || c.LoginAccountFailures > 1000:
		return fmt.Errorf("GATEHOUSE_LOGIN_ACCOUNT_FAILURES=%d is out of range: use 0 to 1000 (5 is usual)", c.LoginAccountFailures)
	case c.LoginAddressFailures < 0 || c.LoginAddressFailures > 1_000_000:
		return fmt.Errorf("GATEHOUSE_LOGIN_ADDRESS_FAILURES=%d is out of range: use 0 to 1000000 (50 is usual)", c.LoginAddressFailures)
	case c.SignInRate < 0 || c.RefreshRate < 0 || c.SessionRefreshRate < 0 || c.RevokeRate < 0:
		return errors.New("GATEHOUSE_SIGNIN_RATE, GATEHOUSE_REFRESH_RATE, GATEHOUSE_SESSION_REFRESH_RATE and GATEHOUSE_REVOKE_RATE are per minute: use 0 (no limit) or more")
	case c.MaxSessionsPerUser < 0 || c.MaxSessionsPerUser > 1_000_000:
		return fmt.Errorf("GATEHOUSE_MAX_SESSIONS_PER_USER=%d is out of range: use 0 (no cap) to 1000000 (100 is usual)", c.MaxSessionsPerUser)
	case c.LoginAccountWideFailures < 0 || c.LoginAccountWideFailures > 1_000_000:
		return fmt.Errorf("GATEHOUSE_LOGIN_ACCOUNT_WIDE_FAILURES=%d is out of range: use 0 (no limit) to 1000000 (100 is usual)", c.LoginAccountWideFailures)
	case c.LoginBackoff < time.Millisecond || c.LoginBackoff > time.Hour:
		return fmt.Errorf("GATEHOUSE_LOGIN_BACKOFF=%s is out of range: use 1ms to 1h (1s is usual)", c.LoginBackoff)
	case c.LoginBackoffMax < c.LoginBackoff || c.LoginBackoffMax > 24*time.Hour:
		return fmt.Errorf("GATEHOUSE_LOGIN_BACKOFF_MAX=%s is out of range: use GATEHOUSE_LOGIN_BACKOFF (%s) to 24h (15m is usual)", c.LoginBackoffMax, c.LoginBackoff)
	case c.LoginForget < c.LoginBackoffMax || c.LoginForget > 30*24*time.Hour:
		return fmt.Errorf("GATEHOUSE_LOGIN_FORGET=%s is out of range: use GATEHOUSE_LOGIN_BACKOFF_MAX (%s) to 720h (1h is usual)", c.LoginForget, c.LoginBackoffMax)
	}
	return nil
}

// ParseTrustedProxies reads a comma-separated list of CIDRs (10.0.0.0/8,
// fd00::/8) and single addresses (192.0.2.10, ::1). Empty means none. A
// list that trusts every client in effect (0.0.0.0/0, ::/0, a prefix
// broader than /8 in IPv4 or /7 in IPv6, or prefixes that together cover a
// whole family) is refused.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parseProxy(item)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_TRUSTED_PROXIES: %q is not an IP address or CIDR: use for example 10.0.0.0/8,192.0.2.10,fd00::/8", item)
		}
		out = append(out, p)
	}
	if err := checkProxies(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
			if p.Bits() < 96 {
				return netip.Prefix{}, errors.New("IPv4-mapped prefix shorter than /96")
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, errors.New("not an address")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s=%q is not valid: use one of %s", name, v, strings.Join(allowed, ", "))
}
