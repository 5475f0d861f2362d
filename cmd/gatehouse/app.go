package main

import (
	"flag"
	"io"
	"log/slog"
	"net/url"

	"github.com/gatehouse/gatehouse/internal/config"
)

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// redactURL hides a password in a database URL for the logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// loadConfig loads the configuration for a command that only needs the
// database and token settings.
// It checks that there are nargs positional arguments.
func loadConfig(env *cliEnv, name, argsUsage, summary string, nargs int, args []string, extra func(*flag.FlagSet)) (config.Config, []string, error) {
	fs := newFlagSet(env, name, argsUsage, summary)
	l := config.NewLoader(env.getenv)
	l.StoreFlags(fs)
	l.TokenFlags(fs)
	if extra != nil {
		extra(fs)
	}
	rest, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, rest, nargs)
	}
	if err != nil {
		return config.Config{}, nil, err
	}
	cfg, err := l.Load()
	return cfg, rest, err
}
