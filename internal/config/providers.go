package config

import (
	"flag"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/federation"
)

// Identity providers (CONTRACT §7).
type Providers struct {
	// File is GATEHOUSE_PROVIDERS_FILE ("" for none).
	File string
	// List is what the file configures, checked, secrets resolved.
	List []federation.ProviderConfig
	// RedirectURIs is GATEHOUSE_REDIRECT_URIS, comma-separated.
	RedirectURIs []string
	// Redirects is that list, checked; Gatehouse's own page is on it.
	Redirects federation.RedirectURIs
}

func (l *Loader) providersEnv() {
	l.str("GATEHOUSE_PROVIDERS_FILE", &l.cfg.Providers.File)
	if v, ok := l.lookup("GATEHOUSE_REDIRECT_URIS"); ok {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				l.cfg.Providers.RedirectURIs = append(l.cfg.Providers.RedirectURIs, u)
			}
		}
	}
}

func (l *Loader) providerFlags(fs *flag.FlagSet) {
	fs.StringVar(&l.cfg.Providers.File, "providers-file", l.cfg.Providers.File, "`path` of a JSON file of OpenID Connect providers to sign in with (GATEHOUSE_PROVIDERS_FILE)")
	fs.Func("redirect-uris", "comma-separated `URIs` a browser may be sent back to after a provider sign-in (GATEHOUSE_REDIRECT_URIS)", func(v string) error {
		l.cfg.Providers.RedirectURIs = nil
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				l.cfg.Providers.RedirectURIs = append(l.cfg.Providers.RedirectURIs, u)
			}
		}
		return nil
	})
}

// finishProviders reads the providers file and checks the redirect URIs,
// one error per mistake.
func (l *Loader) finishProviders(c *Config) []error {
	var errs []error
	if c.Providers.File != "" {
		ps, err := federation.LoadProviders(c.Providers.File, l.getenv)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				errs = append(errs, fmt.Errorf("GATEHOUSE_PROVIDERS_FILE=%s: %s", c.Providers.File, line))
			}
		}
		c.Providers.List = ps
	}
	r, err := federation.ParseRedirectURIs(c.Providers.RedirectURIs)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			errs = append(errs, fmt.Errorf("GATEHOUSE_REDIRECT_URIS: %s", line))
		}
	}
	r.Allow(c.Issuer + "/")
	c.Providers.Redirects = r
	return errs
}
