package federation

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// RedirectURIs are the exact URIs a browser may be sent back to
// (GATEHOUSE_REDIRECT_URIS). An entry on http://127.0.0.1 or
// http://[::1] without a port matches that URI on any port (RFC 8252
// §7.3: a native app listens on a port of its own choosing); everything
// else matches only itself, byte for byte.
type RedirectURIs struct {
	exact    map[string]bool
	loopback map[string]bool // the URI with its port removed
}

// maxRedirectURI bounds a redirect URI.
const maxRedirectURI = 2048

// ParseRedirectURIs checks the entries: absolute URIs without a fragment;
// http only on a loopback host (any other scheme is a native app's own).
func ParseRedirectURIs(entries []string) (RedirectURIs, error) {
	r := RedirectURIs{exact: map[string]bool{}, loopback: map[string]bool{}}
	var errs []error
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		u, err := url.Parse(e)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("redirect URI %q: %v", e, err))
			continue
		case !u.IsAbs() || u.Fragment != "" || strings.Contains(e, "#") || len(e) > maxRedirectURI:
			errs = append(errs, fmt.Errorf("redirect URI %q: must be absolute, without a fragment, at most %d bytes", e, maxRedirectURI))
			continue
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			errs = append(errs, fmt.Errorf("redirect URI %q: http only on a loopback host; use https", e))
			continue
		case u.Scheme == "javascript" || u.Scheme == "data" || u.Scheme == "file":
			errs = append(errs, fmt.Errorf("redirect URI %q: scheme %s is not allowed", e, u.Scheme))
			continue
		}
		r.exact[e] = true
		if u.Scheme == "http" && u.Port() == "" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "::1") {
			r.loopback[e] = true
		}
	}
	return r, errors.Join(errs...)
}

// Allow adds uri (Gatehouse's own page) to the list.
func (r *RedirectURIs) Allow(uri string) {
	if r.exact == nil {
		r.exact = map[string]bool{}
	}
	r.exact[uri] = true
}

// Match reports whether uri may be redirected to.
func (r RedirectURIs) Match(uri string) bool {
	if uri == "" || len(uri) > maxRedirectURI {
		return false
	}
	if r.exact[uri] {
		return true
	}
	if len(r.loopback) == 0 {
		return false
	}
	rest, ok := strings.CutPrefix(uri, "http://")
	if !ok {
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	for _, host := range []string{"127.0.0.1:", "[::1]:"} {
		port, ok := strings.CutPrefix(authority, host)
		if ok && validPort(port) {
			return r.loopback["http://"+strings.TrimSuffix(host, ":")+tail]
		}
	}
	return false
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}
