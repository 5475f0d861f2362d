package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/auth"
)

const tokenUsage = `Usage: gatehouse token SUBCOMMAND TOKEN

Subcommands:
  decode TOKEN   print the header and claims WITHOUT verifying anything
  verify TOKEN   verify against this server's keys and revocations;
                 exit 0 if valid, 1 if not, with the reason

TOKEN "-" reads the token from standard input.
`

func runToken(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(env.stderr, tokenUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "decode":
		return tokenDecode(env, args[1:])
	case "verify":
		return tokenVerify(ctx, env, args[1:])
	}
	fmt.Fprintf(env.stderr, "gatehouse token: unknown subcommand %q\n\n%s", args[0], tokenUsage)
	return errUsage
}

func tokenArg(env *cliEnv, arg string) (string, error) {
	if arg != "-" {
		return strings.TrimSpace(arg), nil
	}
	b, err := io.ReadAll(io.LimitReader(env.stdin, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read token from stdin: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func tokenDecode(env *cliEnv, args []string) error {
	fs := newFlagSet(env, "token decode", "TOKEN", "Print a JWT's header and claims without verifying it. Nothing printed here is trustworthy.")
	rest, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, rest, 1)
	}
	if err != nil {
		return err
	}
	tok, err := tokenArg(env, rest[0])
	if err != nil {
		return err
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT: want 3 dot-separated parts, got %d", len(parts))
	}
	fmt.Fprintln(env.stdout, "UNVERIFIED: this decodes the token without checking its signature, expiry or revocation.")
	for i, label := range []string{"header", "claims"} {
		pretty, err := decodeSegment(parts[i])
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		fmt.Fprintf(env.stdout, "%s (unverified):\n%s\n", label, printableLines(pretty))
	}
	printTimes(env, parts[1])
	return nil
}

func decodeSegment(seg string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return "", fmt.Errorf("not base64url: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "  ", "  "); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	return "  " + out.String(), nil
}

// printTimes shows the numeric dates of the claims as readable times.
func printTimes(env *cliEnv, seg string) {
	raw, _ := base64.RawURLEncoding.DecodeString(seg)
	var c map[string]any
	if json.Unmarshal(raw, &c) != nil {
		return
	}
	for _, name := range []string{"iat", "nbf", "exp"} {
		if v, ok := c[name].(float64); ok {
			t := time.Unix(int64(v), 0)
			fmt.Fprintf(env.stdout, "%s: %s (%s)\n", name, stamp(t), relative(t))
		}
	}
}

func relative(t time.Time) string {
	d := time.Until(t).Round(time.Second)
	if d < 0 {
		return (-d).String() + " ago"
	}
	return "in " + d.String()
}

func tokenVerify(ctx context.Context, env *cliEnv, args []string) error {
	cfg, rest, err := loadConfig(env, "token verify", "TOKEN", "Verify a token against this server's keys and revocations. Exit 0 if valid, 1 if not.", 1, args, nil)
	if err != nil {
		return err
	}
	tok, err := tokenArg(env, rest[0])
	if err != nil {
		return err
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		c, err := a.Verifier.Verify(ctx, tok)
		if err != nil {
			fmt.Fprintf(env.stdout, "invalid: %s\n", printable(err.Error()))
			return exitError{1}
		}
		// The same rule as the server's own endpoints: the store must
		// stand behind the token's session and user.
		p, err := a.Trust.Principal(ctx, c)
		if auth.ErrorCode(err) == auth.EUnauthenticated {
			fmt.Fprintln(env.stdout, "invalid: correctly signed, but its session or user does not exist, has ended or is disabled")
			return exitError{1}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "valid: sub=%s username=%s role=%s sid=%s jti=%s amr=%s expires %s (%s)\n",
			printable(p.UserID), printable(p.Username), printable(string(p.Role)), printable(p.SessionID), printable(c.ID), printable(strings.Join(p.AMR, ",")), stamp(c.ExpiresAt), relative(c.ExpiresAt))
		return nil
	})
}
