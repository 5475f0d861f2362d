package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	l := NewLoader(func(k string) string { return env[k] })
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l.StoreFlags(fs)
	l.TokenFlags(fs)
	l.ServeFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return l.Load()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8000" || c.Issuer != "http://127.0.0.1:8000" || c.SigningAlg != "ES256" ||
		c.AccessTTL != 30*time.Minute || c.RefreshTTL != 168*time.Hour || c.ReuseInterval != 10*time.Second ||
		c.Signup != "closed" || c.DatabaseURL != "sqlite:gatehouse.db" {
		t.Fatalf("defaults %+v", c)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, err := load(t, map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9000", "GATEHOUSE_ACCESS_TTL": "15m"}, "--access-ttl", "5m")
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessTTL != 5*time.Minute || c.Addr != "127.0.0.1:9000" || c.Issuer != "http://127.0.0.1:9000" {
		t.Fatalf("%+v", c)
	}
	c, err = load(t, map[string]string{"GATEHOUSE_ADDR": ":8080"})
	if err != nil || c.Issuer != "http://localhost:8080" {
		t.Fatalf("issuer %q, %v", c.Issuer, err)
	}
}

const goodSecret = "3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a"

func TestAuditRetention(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want time.Duration
	}{
		{nil, nil, 2160 * time.Hour},
		{map[string]string{"GATEHOUSE_AUDIT_RETENTION": "0"}, nil, 0},
		{map[string]string{"GATEHOUSE_AUDIT_RETENTION": "720h"}, nil, 720 * time.Hour},
		{map[string]string{"GATEHOUSE_AUDIT_RETENTION": "720h"}, []string{"--audit-retention", "24h"}, 24 * time.Hour},
	} {
		c, err := load(t, tc.env, tc.args...)
		if err != nil || c.AuditRetention != tc.want {
			t.Errorf("env %v flags %v: retention %s, %v; want %s", tc.env, tc.args, c.AuditRetention, err, tc.want)
		}
	}
}

func TestSecretSelectsHS256(t *testing.T) {
	c, err := load(t, map[string]string{"JWT_SECRET_KEY": goodSecret})
	if err != nil || c.SigningAlg != "HS256" {
		t.Fatalf("alg %q, %v", c.SigningAlg, err)
	}
	c, err = load(t, map[string]string{"JWT_SECRET_KEY": goodSecret, "GATEHOUSE_SIGNING_ALG": "EdDSA"})
	if err != nil || c.SigningAlg != "EdDSA" {
		t.Fatalf("alg %q, %v", c.SigningAlg, err)
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"short secret":         {map[string]string{"JWT_SECRET_KEY": "secret"}, "openssl rand -hex 32"},
		"tutorial secret":      {map[string]string{"JWT_SECRET_KEY": "your-super-secret-key-change-this-in-production"}, "well-known placeholder"},
		"repetitive secret":    {map[string]string{"JWT_SECRET_KEY": strings.Repeat("ab", 20)}, "distinct"},
		"HS256 without key":    {map[string]string{"GATEHOUSE_SIGNING_ALG": "HS256"}, "needs JWT_SECRET_KEY"},
		"unknown alg":          {map[string]string{"GATEHOUSE_SIGNING_ALG": "none"}, "GATEHOUSE_SIGNING_ALG"},
		"bad duration":         {map[string]string{"GATEHOUSE_ACCESS_TTL": "30 minutes"}, "GATEHOUSE_ACCESS_TTL"},
		"refresh under access": {map[string]string{"GATEHOUSE_REFRESH_TTL": "10m"}, "GATEHOUSE_REFRESH_TTL"},
		"bad database":         {map[string]string{"GATEHOUSE_DATABASE_URL": "mysql://x"}, "GATEHOUSE_DATABASE_URL"},
		"bad signup":           {map[string]string{"GATEHOUSE_SIGNUP": "yes"}, "GATEHOUSE_SIGNUP"},
		"bad issuer":           {map[string]string{"GATEHOUSE_ISSUER": "auth.example.com"}, "GATEHOUSE_ISSUER"},
		"bad addr":             {map[string]string{"GATEHOUSE_ADDR": "8000"}, "GATEHOUSE_ADDR"},
		"bad log format":       {map[string]string{"GATEHOUSE_LOG_FORMAT": "xml"}, "GATEHOUSE_LOG_FORMAT"},
		"debug on the network": {map[string]string{"GATEHOUSE_DEBUG_ADDR": "0.0.0.0:6060"}, "loopback"},
		"negative interval":    {map[string]string{"GATEHOUSE_REFRESH_REUSE_INTERVAL": "-1s"}, "GATEHOUSE_REFRESH_REUSE_INTERVAL"},
		"audit retention 90s":  {map[string]string{"GATEHOUSE_AUDIT_RETENTION": "90s"}, "GATEHOUSE_AUDIT_RETENTION"},
		"audit retention -1h":  {map[string]string{"GATEHOUSE_AUDIT_RETENTION": "-1h"}, "GATEHOUSE_AUDIT_RETENTION"},
		"audit retention 90d":  {map[string]string{"GATEHOUSE_AUDIT_RETENTION": "90d"}, "GATEHOUSE_AUDIT_RETENTION"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLoginThrottleSettings(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginAccountFailures != 5 || c.LoginAddressFailures != 50 || c.LoginAccountWideFailures != 100 || c.LoginBackoff != time.Second ||
		c.LoginBackoffMax != 15*time.Minute || c.LoginForget != time.Hour || len(c.TrustedProxies) != 0 {
		t.Fatalf("throttle defaults %+v", c)
	}
	c, err = load(t, map[string]string{
		"GATEHOUSE_LOGIN_ACCOUNT_FAILURES": "3", "GATEHOUSE_LOGIN_ADDRESS_FAILURES": "20",
		"GATEHOUSE_LOGIN_ACCOUNT_WIDE_FAILURES": "0",
		"GATEHOUSE_LOGIN_BACKOFF":               "2s", "GATEHOUSE_LOGIN_BACKOFF_MAX": "1m", "GATEHOUSE_LOGIN_FORGET": "2h",
		"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8",
	}, "--login-account-failures", "4", "--login-forget", "3h", "--trusted-proxies", "192.0.2.10, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginAccountFailures != 4 || c.LoginAddressFailures != 20 || c.LoginAccountWideFailures != 0 || c.LoginBackoff != 2*time.Second ||
		c.LoginBackoffMax != time.Minute || c.LoginForget != 3*time.Hour {
		t.Fatalf("throttle settings %+v", c)
	}
	if got := fmt.Sprint(c.TrustedProxies); got != "[192.0.2.10/32 fd00::/8]" {
		t.Fatalf("trusted proxies %s: the flag must win over the variable", got)
	}
}

func TestBadThrottleSettingsAreRefused(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"not a number":      {map[string]string{"GATEHOUSE_LOGIN_ACCOUNT_FAILURES": "five"}, "GATEHOUSE_LOGIN_ACCOUNT_FAILURES=\"five\" is not a whole number"},
		"negative failures": {map[string]string{"GATEHOUSE_LOGIN_ADDRESS_FAILURES": "-1"}, "GATEHOUSE_LOGIN_ADDRESS_FAILURES=-1 is out of range"},
		"negative wide":     {map[string]string{"GATEHOUSE_LOGIN_ACCOUNT_WIDE_FAILURES": "-1"}, "GATEHOUSE_LOGIN_ACCOUNT_WIDE_FAILURES=-1 is out of range"},
		"zero backoff":      {map[string]string{"GATEHOUSE_LOGIN_BACKOFF": "0s"}, "GATEHOUSE_LOGIN_BACKOFF=0s"},
		"bad backoff":       {map[string]string{"GATEHOUSE_LOGIN_BACKOFF": "1 second"}, "GATEHOUSE_LOGIN_BACKOFF="},
		"max under backoff": {map[string]string{"GATEHOUSE_LOGIN_BACKOFF": "1m", "GATEHOUSE_LOGIN_BACKOFF_MAX": "30s"}, "GATEHOUSE_LOGIN_BACKOFF_MAX=30s"},
		"forget under max":  {map[string]string{"GATEHOUSE_LOGIN_FORGET": "10m"}, "GATEHOUSE_LOGIN_FORGET=10m"},
		"proxy not an IP":   {map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}, `"proxy.internal" is not an IP address or CIDR`},
		"proxy bad CIDR":    {map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/33"}, "GATEHOUSE_TRUSTED_PROXIES"},
		"proxy with a port": {map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.1:80"}, "GATEHOUSE_TRUSTED_PROXIES"},
		"proxy with a zone": {map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "fe80::1%eth0"}, "GATEHOUSE_TRUSTED_PROXIES"},
		"short mapped CIDR": {map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "::ffff:0:0/80"}, "GATEHOUSE_TRUSTED_PROXIES"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") != 0 {
				t.Fatalf("error %v, want one line mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "[]",
		" , ":                           "[]",
		"10.1.2.3/8":                    "[10.0.0.0/8]",
		"192.0.2.10,::1":                "[192.0.2.10/32 ::1/128]",
		"::ffff:192.0.2.10":             "[192.0.2.10/32]",
		"::ffff:10.0.0.0/104, fd00::/8": "[10.0.0.0/8 fd00::/8]",
	} {
		got, err := ParseTrustedProxies(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("ParseTrustedProxies(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}

func TestBrowserSettings(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Browser
	if b.Page || !b.CookieSecure || b.CookieSameSite != "strict" || b.AccessCookie != "__Host-gatehouse_access" ||
		b.RefreshCookie != "__Secure-gatehouse_refresh" || b.CookieDomain != "" || len(b.AllowedOrigins) != 0 {
		t.Fatalf("browser defaults %+v", b)
	}
	c, err = load(t, map[string]string{
		"GATEHOUSE_ISSUER": "https://auth.example.com", "GATEHOUSE_COOKIE_DOMAIN": "example.com",
		"GATEHOUSE_COOKIE_SAMESITE": "Lax", "GATEHOUSE_CORS_ORIGINS": "https://app.example.com/, http://localhost:5173",
		"GATEHOUSE_WEB_PAGE": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	b = c.Browser
	if !b.Page || b.CookieSameSite != "lax" || b.AccessCookie != "gatehouse_access" || b.RefreshCookie != "__Secure-gatehouse_refresh" ||
		strings.Join(b.AllowedOrigins, " ") != "https://app.example.com http://localhost:5173" {
		t.Fatalf("browser settings %+v", b)
	}
}

func TestDemoDefaults(t *testing.T) {
	l := NewLoader(func(string) string { return "" })
	l.SetDemo(true)
	c, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	// The demo issuer is http://127.0.0.1:8000: cookies work there without
	// Secure, so the demo works in any browser.
	if !c.Browser.Page || c.Browser.CookieSecure || c.Browser.AccessCookie != "gatehouse_access" || c.Browser.RefreshCookie != "gatehouse_refresh" {
		t.Fatalf("demo browser settings %+v", c.Browser)
	}
	env := map[string]string{"GATEHOUSE_ISSUER": "https://auth.example.com", "GATEHOUSE_WEB_PAGE": "false"}
	l = NewLoader(func(k string) string { return env[k] })
	l.SetDemo(true)
	c, err = l.Load()
	if err != nil || c.Browser.Page || !c.Browser.CookieSecure {
		t.Fatalf("demo must keep explicit settings and Secure on https: %+v %v", c.Browser, err)
	}
}

func TestBadBrowserSettings(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GATEHOUSE_COOKIE_SECURE": "false", "GATEHOUSE_ISSUER": "https://auth.example.com"}, "GATEHOUSE_COOKIE_SECURE=false is allowed only"},
		{map[string]string{"GATEHOUSE_COOKIE_SECURE": "nope"}, "GATEHOUSE_COOKIE_SECURE=\"nope\" is not a boolean"},
		{map[string]string{"GATEHOUSE_COOKIE_SAMESITE": "sometimes"}, "GATEHOUSE_COOKIE_SAMESITE=\"sometimes\" is not valid"},
		{map[string]string{"GATEHOUSE_COOKIE_SAMESITE": "none", "GATEHOUSE_COOKIE_SECURE": "false"}, "needs Secure cookies"},
		{map[string]string{"GATEHOUSE_CORS_ORIGINS": "*"}, "* cannot be used with credentials"},
		{map[string]string{"GATEHOUSE_CORS_ORIGINS": "https://app.example.com/path"}, "is not an origin"},
		{map[string]string{"GATEHOUSE_CORS_ORIGINS": "app.example.com"}, "is not an origin"},
		{map[string]string{"GATEHOUSE_COOKIE_ACCESS_NAME": "bad name;"}, "is not a valid cookie name"},
		{map[string]string{"GATEHOUSE_COOKIE_ACCESS_NAME": "same", "GATEHOUSE_COOKIE_REFRESH_NAME": "same"}, "use two names"},
		{map[string]string{"GATEHOUSE_COOKIE_ACCESS_NAME": "__Host-x", "GATEHOUSE_COOKIE_DOMAIN": "example.com"}, "__Host- cookie must be Secure and have no domain"},
		{map[string]string{"GATEHOUSE_COOKIE_DOMAIN": "example.com/x"}, "is not a domain"},
	} {
		_, err := load(t, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.want)
		}
	}
	if _, err := load(t, map[string]string{"GATEHOUSE_COOKIE_SECURE": "false", "GATEHOUSE_ISSUER": "http://localhost:8000"}); err != nil {
		t.Errorf("insecure cookies on http://localhost: %v", err)
	}
}
