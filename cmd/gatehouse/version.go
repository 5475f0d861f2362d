package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func runVersion(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "version", "", "Print the version and build information.")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "gatehouse %s\n", version)
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	fmt.Fprintf(env.stdout, "go:       %s\n", info.GoVersion)
	fmt.Fprintf(env.stdout, "module:   %s %s\n", info.Main.Path, info.Main.Version)
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "vcs.modified", "CGO_ENABLED", "GOOS", "GOARCH":
			fmt.Fprintf(env.stdout, "%-9s %s\n", s.Key+":", s.Value)
		}
	}
	return nil
}
