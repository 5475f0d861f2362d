package config

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Browser is how web pages use Gatehouse: cookie mode, the origins allowed
// to call it with credentials, and the built-in web page.
type Browser struct {
	// Page serves the built-in sign-in page at /; off unless --demo or
	// GATEHOUSE_WEB_PAGE=true.
	Page bool
	// CookieSecure marks cookies Secure. It may be off only when the
	// issuer is plain http on a loopback host (development).
	CookieSecure bool
	// CookieSameSite is strict, lax or none.
	CookieSameSite string
	// CookieDomain, when set, shares the cookies with the domain's
	// subdomains; empty keeps them to Gatehouse's own host.
	CookieDomain string
	// AccessCookie and RefreshCookie are the cookie names. Empty means the
	// defaults: __Host-gatehouse_access and __Secure-gatehouse_refresh when
	// the prefixes' rules allow, gatehouse_access and gatehouse_refresh
	// otherwise.
	AccessCookie  string
	RefreshCookie string
	// AllowedOrigins may call Gatehouse from a browser with credentials
	// (CORS), and send state-changing cookie requests from another origin.
	AllowedOrigins []string
}

// browserEnv reads the browser settings from the environment.
func (l *Loader) browserEnv() {
	b := &l.cfg.Browser
	l.pageSet = l.boolean("GATEHOUSE_WEB_PAGE", &b.Page)
	l.secureSet = l.boolean("GATEHOUSE_COOKIE_SECURE", &b.CookieSecure)
	l.str("GATEHOUSE_COOKIE_SAMESITE", &b.CookieSameSite)
	l.str("GATEHOUSE_COOKIE_DOMAIN", &b.CookieDomain)
	l.accessNameSet = l.str("GATEHOUSE_COOKIE_ACCESS_NAME", &b.AccessCookie)
	l.refreshNameSet = l.str("GATEHOUSE_COOKIE_REFRESH_NAME", &b.RefreshCookie)
	var origins string
	if l.str("GATEHOUSE_CORS_ORIGINS", &origins) {
		b.AllowedOrigins = splitList(origins)
	}
}

// browserFlags registers the browser settings' flags.
func (l *Loader) browserFlags(fs *flag.FlagSet) {
	b := &l.cfg.Browser
	fs.Func("web-page", "serve the built-in sign-in page at / (GATEHOUSE_WEB_PAGE; on with --demo)", func(v string) error {
		ok, err := strconv.ParseBool(v)
		b.Page, l.pageSet = ok, true
		return err
	})
	fs.Lookup("web-page").DefValue = "false"
	fs.Func("cookie-secure", "mark session cookies Secure; false only for http://localhost development (GATEHOUSE_COOKIE_SECURE)", func(v string) error {
		ok, err := strconv.ParseBool(v)
		b.CookieSecure, l.secureSet = ok, true
		return err
	})
	fs.Lookup("cookie-secure").DefValue = "true"
	fs.StringVar(&b.CookieSameSite, "cookie-samesite", b.CookieSameSite, "SameSite of the session cookies: strict, lax or none (GATEHOUSE_COOKIE_SAMESITE)")
	fs.StringVar(&b.CookieDomain, "cookie-domain", b.CookieDomain, "`domain` of the session cookies; empty keeps them to this host (GATEHOUSE_COOKIE_DOMAIN)")
	fs.Func("cors-origins", "comma-separated `origins` allowed to call with credentials, e.g. https://app.example.com (GATEHOUSE_CORS_ORIGINS)", func(v string) error {
		b.AllowedOrigins = splitList(v)
		return nil
	})
}

// SetDemo applies --demo's defaults: the web page on, and cookies without
// Secure when the issuer is plain http on a loopback host, so that the demo
// works in any browser. Explicit settings win.
func (l *Loader) SetDemo(demo bool) { l.demo = demo }

func (l *Loader) boolean(name string, dst *bool) bool {
	v, ok := l.lookup(name)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s=%q is not a boolean: use true or false", name, v))
		return false
	}
	*dst = b
	return true
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// finishBrowser fills the defaults that depend on other settings.
func (l *Loader) finishBrowser(c *Config) {
	b := &c.Browser
	if l.demo {
		if !l.pageSet {
			b.Page = true
		}
		if !l.secureSet && loopbackHTTP(c.Issuer) {
			b.CookieSecure = false
		}
	}
	b.CookieSameSite = strings.ToLower(b.CookieSameSite)
	access, refresh := b.defaultNames()
	if !l.accessNameSet {
		b.AccessCookie = access
	}
	if !l.refreshNameSet {
		b.RefreshCookie = refresh
	}
	for i, o := range b.AllowedOrigins {
		b.AllowedOrigins[i] = strings.TrimSuffix(o, "/")
	}
}

// defaultNames are the cookie names used unless others are set: with the
// __Host- and __Secure- prefixes whenever their rules allow, so that a
// sibling subdomain or a plain-http page cannot plant a cookie of the same
// name.
func (b *Browser) defaultNames() (access, refresh string) {
	access, refresh = "gatehouse_access", "gatehouse_refresh"
	if b.CookieSecure {
		refresh = "__Secure-" + refresh
		if b.CookieDomain == "" {
			access = "__Host-" + access
		}
	}
	return access, refresh
}

// loopbackHTTP reports whether the issuer is plain http on localhost or a
// loopback address.
func loopbackHTTP(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || (ip != nil && ip.IsLoopback())
}

func (c Config) validateBrowser() []error {
	b := c.Browser
	var errs []error
	if err := oneOf("GATEHOUSE_COOKIE_SAMESITE", b.CookieSameSite, "strict", "lax", "none"); err != nil {
		errs = append(errs, err)
	}
	if !b.CookieSecure && !loopbackHTTP(c.Issuer) {
		errs = append(errs, fmt.Errorf("GATEHOUSE_COOKIE_SECURE=false is allowed only for development on http://localhost, but the issuer is %s: remove it", c.Issuer))
	}
	if b.CookieSameSite == "none" && !b.CookieSecure {
		errs = append(errs, fmt.Errorf("GATEHOUSE_COOKIE_SAMESITE=none needs Secure cookies, which browsers require for it: use strict or lax in development"))
	}
	if strings.HasPrefix(b.AccessCookie, "__Host-") && (!b.CookieSecure || b.CookieDomain != "") {
		errs = append(errs, fmt.Errorf("GATEHOUSE_COOKIE_ACCESS_NAME=%q: a __Host- cookie must be Secure and have no domain", b.AccessCookie))
	}
	for _, name := range []string{b.AccessCookie, b.RefreshCookie} {
		if strings.HasPrefix(name, "__Secure-") && !b.CookieSecure {
			errs = append(errs, fmt.Errorf("cookie name %q: a __Secure- cookie must be Secure", name))
		}
		if !validCookieName(name) {
			errs = append(errs, fmt.Errorf("cookie name %q is not a valid cookie name: use letters, digits, _ and -", name))
		}
	}
	if b.AccessCookie == b.RefreshCookie {
		errs = append(errs, fmt.Errorf("GATEHOUSE_COOKIE_ACCESS_NAME and GATEHOUSE_COOKIE_REFRESH_NAME are both %q: use two names", b.AccessCookie))
	}
	if d := b.CookieDomain; d != "" && (strings.ContainsAny(d, "/:; ") || !strings.Contains(strings.TrimPrefix(d, "."), ".") && d != "localhost") {
		errs = append(errs, fmt.Errorf("GATEHOUSE_COOKIE_DOMAIN=%q is not a domain: use for example example.com", d))
	}
	for _, o := range b.AllowedOrigins {
		if o == "*" {
			errs = append(errs, fmt.Errorf("GATEHOUSE_CORS_ORIGINS: * cannot be used with credentials: list the origins"))
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("GATEHOUSE_CORS_ORIGINS: %q is not an origin: use scheme://host[:port], e.g. https://app.example.com", o))
		}
	}
	return errs
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
