package federation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
)

// The linking policies of a provider.
const (
	// LinkNever: a first sign-in whose address belongs to an existing
	// account is refused (account_exists); the user links explicitly.
	LinkNever = "never"
	// LinkVerifiedEmail: it is linked to that account when the provider
	// says the address is verified and the account's address is verified
	// too.
	LinkVerifiedEmail = "verified_email"
)

// DefaultScopes are asked for when a provider names none.
var DefaultScopes = []string{"openid", "email", "profile"}

// ProviderConfig is one entry of the providers file (CONTRACT §7).
type ProviderConfig struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Issuer          string   `json:"issuer"`
	ClientID        string   `json:"client_id"`
	ClientSecret    string   `json:"client_secret,omitempty"`
	ClientSecretEnv string   `json:"client_secret_env,omitempty"`
	Scopes          []string `json:"scopes,omitempty"`
	Link            string   `json:"link,omitempty"`
}

// maxProvidersFile bounds what LoadProviders reads.
const maxProvidersFile = 1 << 20

var providerID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// LoadProviders reads and checks the providers file at path. Client
// secrets named by client_secret_env are read with getenv. Every mistake
// is reported, one line each, naming the entry (see ParseProviders).
func LoadProviders(path string, getenv func(string) string) ([]ProviderConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("providers file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProvidersFile+1))
	if err != nil {
		return nil, fmt.Errorf("providers file %s: %w", path, err)
	}
	if len(b) > maxProvidersFile {
		return nil, fmt.Errorf("providers file %s: over %d bytes", path, maxProvidersFile)
	}
	return ParseProviders(b, getenv)
}

// ParseProviders parses and checks the JSON of a providers file.
func ParseProviders(b []byte, getenv func(string) string) ([]ProviderConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ps []ProviderConfig
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("not a JSON array of providers: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a JSON array of providers: data after the array")
	}
	var errs []error
	seen := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		bad := func(format string, args ...any) {
			name := p.ID
			if name == "" {
				name = fmt.Sprintf("#%d", i+1)
			}
			errs = append(errs, fmt.Errorf("provider %s: %s", name, fmt.Sprintf(format, args...)))
		}
		switch {
		case !providerID.MatchString(p.ID):
			bad("id must be 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit")
		case seen[p.ID]:
			bad("id is used twice")
		}
		seen[p.ID] = true
		if strings.TrimSpace(p.Name) == "" {
			bad("name is missing")
		}
		if err := checkIssuer(p.Issuer); err != nil {
			bad("issuer %v", err)
		}
		if p.ClientID == "" {
			bad("client_id is missing")
		}
		switch {
		case p.ClientSecret != "" && p.ClientSecretEnv != "":
			bad("give client_secret or client_secret_env, not both")
		case p.ClientSecretEnv != "":
			if p.ClientSecret = getenv(p.ClientSecretEnv); p.ClientSecret == "" {
				bad("client_secret_env names %s, which is not set", p.ClientSecretEnv)
			}
		case p.ClientSecret == "":
			bad("client_secret or client_secret_env is missing")
		}
		if len(p.Scopes) == 0 {
			p.Scopes = slices.Clone(DefaultScopes)
		} else if !slices.Contains(p.Scopes, "openid") {
			bad(`scopes must include "openid"`)
		}
		switch p.Link {
		case "":
			p.Link = LinkNever
		case LinkNever, LinkVerifiedEmail:
		default:
			bad("link must be %q or %q, not %q", LinkNever, LinkVerifiedEmail, p.Link)
		}
	}
	return ps, errors.Join(errs...)
}

// checkIssuer accepts an absolute https URL, or http on a loopback host,
// without query or fragment.
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return errors.New("is missing")
	case err != nil:
		return fmt.Errorf("is not a URL: %v", err)
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q must be an absolute URL without user, query or fragment", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must be https (http only on a loopback host)", s)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
