package main

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/app"
)

func runMigrate(ctx context.Context, env *cliEnv, args []string) error {
	cfg, _, err := loadConfig(env, "migrate", "", "Apply the database migrations and exit. serve applies them too.", 0, args, nil)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg, newLogger(env.stderr, cfg.LogFormat))
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(env.stdout, "database %s is up to date\n", redactURL(cfg.DatabaseURL))
	return nil
}
