package config

import (
	"flag"
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
