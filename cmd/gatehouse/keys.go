package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/keys"
)

const keysUsage = `Usage: gatehouse keys SUBCOMMAND [flags]

Subcommands:
  list     list the published signing keys and their states
  rotate   make a new key; it is published now and signs after the publish
           delay (GATEHOUSE_KEY_PUBLISH_DELAY), and the current key stays
           published until every token it signed has expired. Every replica
           publishes it within a second (PostgreSQL NOTIFY, and Redis when
           GATEHOUSE_REDIS_URL is set; a 1 s poll otherwise)
  reseal   encrypt every stored private key with GATEHOUSE_ENCRYPTION_KEY:
           keys stored unencrypted, and keys sealed with a key listed in
           GATEHOUSE_ENCRYPTION_KEY_OLD; prints how many. Safe to run again

Private keys are encrypted at rest (AES-256-GCM) when GATEHOUSE_ENCRYPTION_KEY
is set (32 random bytes, hex or base64: openssl rand -hex 32). To change the
key: set the new one, put the old one in GATEHOUSE_ENCRYPTION_KEY_OLD (a
comma-separated list), run gatehouse keys reseal, then drop the old one.
`

func runKeys(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(env.stderr, keysUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "list":
		return keysList(ctx, env, args[1:])
	case "rotate":
		return keysRotate(ctx, env, args[1:])
	case "reseal":
		return keysReseal(ctx, env, args[1:])
	}
	fmt.Fprintf(env.stderr, "gatehouse keys: unknown subcommand %q\n\n%s", args[0], keysUsage)
	return errUsage
}

func keysList(ctx context.Context, env *cliEnv, args []string) error {
	cfg, _, err := loadConfig(env, "keys list", "", "List the signing keys: next (published, not signing yet), current, retired (published until its tokens expire).", 0, args, nil)
	if err != nil {
		return err
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		if a.Keys.Symmetric() {
			fmt.Fprintln(env.stdout, "HS256: tokens are signed with JWT_SECRET_KEY; no keys are stored or published")
			return nil
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tPUBLISHED UNTIL")
		for _, k := range a.Keys.List() {
			until := "-"
			if !k.ExpiresAt.IsZero() {
				until = stamp(k.ExpiresAt)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cells(k.ID, k.Algorithm, string(k.State), stamp(k.CreatedAt), stamp(k.ActivatesAt), until)...)
		}
		return tw.Flush()
	})
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func keysRotate(ctx context.Context, env *cliEnv, args []string) error {
	cfg, _, err := loadConfig(env, "keys rotate", "", "Make a new signing key. It is published at once and signs after the publish delay; the current key stays published until its tokens expire.", 0, args, nil)
	if err != nil {
		return err
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		k, err := a.Keys.Rotate(ctx, cliOrigin)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "new %s key %s published; it signs from %s (in %s)\n",
			printable(k.Algorithm), printable(k.ID), stamp(k.ActivatesAt), time.Until(k.ActivatesAt).Round(time.Second))
		return nil
	})
}

func keysReseal(ctx context.Context, env *cliEnv, args []string) error {
	cfg, _, err := loadConfig(env, "keys reseal", "", "Encrypt every stored signing key and TOTP secret with GATEHOUSE_ENCRYPTION_KEY (from plaintext or from a key in GATEHOUSE_ENCRYPTION_KEY_OLD). Idempotent.", 0, args, nil)
	if err != nil {
		return err
	}
	if cfg.EncryptionKey == nil {
		return keys.ErrNoEncryptionKey
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		if a.Keys.Symmetric() {
			fmt.Fprintln(env.stdout, "HS256: tokens are signed with JWT_SECRET_KEY; no keys are stored")
		} else {
			res, err := a.Keys.Reseal(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "resealed %d signing keys with encryption key %s; %d already were\n",
				res.Resealed, a.Sealer.Primary(), res.Unchanged)
		}
		resealed, unchanged, err := a.MFA.Reseal(ctx, a.Store)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "resealed %d TOTP secrets with encryption key %s; %d already were\n",
			resealed, a.Sealer.Primary(), unchanged)
		return nil
	})
}
