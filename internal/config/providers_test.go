package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProvidersFromEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`[{"id":"acme","name":"Acme","issuer":"https://id.acme.example","client_id":"c","client_secret_env":"ACME_SECRET"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEHOUSE_PROVIDERS_FILE": file, "ACME_SECRET": "s3cret", "GATEHOUSE_REDIRECT_URIS": "https://app.example/done, http://127.0.0.1/cb"}
	c, err := NewLoader(func(k string) string { return env[k] }).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Providers.List) != 1 || c.Providers.List[0].ClientSecret != "s3cret" {
		t.Fatalf("providers %+v", c.Providers.List)
	}
	for uri, want := range map[string]bool{"https://app.example/done": true, "http://127.0.0.1:4000/cb": true, c.Issuer + "/": true, "https://evil.example/": false} {
		if c.Providers.Redirects.Match(uri) != want {
			t.Errorf("Match(%q) != %v", uri, want)
		}
	}
	// Every mistake is a line of its own that names the variable.
	env["ACME_SECRET"], env["GATEHOUSE_REDIRECT_URIS"] = "", "http://app.example/done,/relative"
	_, err = NewLoader(func(k string) string { return env[k] }).Load()
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "GATEHOUSE_PROVIDERS_FILE="+file+": provider acme: client_secret_env names ACME_SECRET") ||
		!strings.HasPrefix(lines[1], "GATEHOUSE_REDIRECT_URIS: ") || !strings.HasPrefix(lines[2], "GATEHOUSE_REDIRECT_URIS: ") {
		t.Fatalf("errors:\n%v", err)
	}
	env["GATEHOUSE_PROVIDERS_FILE"], env["GATEHOUSE_REDIRECT_URIS"] = filepath.Join(t.TempDir(), "missing.json"), ""
	if _, err = NewLoader(func(k string) string { return env[k] }).Load(); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_PROVIDERS_FILE=") {
		t.Fatalf("a missing file: %v", err)
	}
}
