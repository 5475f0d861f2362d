package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/config"
)

const userUsage = `Usage: gatehouse user SUBCOMMAND [flags] [args]

Subcommands:
  add NAME [--role R] [--email ADDR] [--password-stdin]
                                           create a user (role user by default)
  list                                     list users
  set-email NAME ADDR                      set a user's address, counted as verified ("" removes it)
  mfa-reset NAME                           turn a user's second factor off and end their sessions
  set-role NAME ROLE                       change a user's role (ends their sessions)
  disable NAME                             disable a user (ends their sessions)
  enable NAME                              enable a disabled user
  delete NAME                              delete a user and revoke everything of theirs

Run "gatehouse user SUBCOMMAND --help" for flags.
`

func runUser(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(env.stderr, userUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add":
		return userAdd(ctx, env, args)
	case "list":
		return userList(ctx, env, args)
	case "set-role":
		return userChange(ctx, env, sub, "NAME ROLE", "Change a user's role; their sessions end.", args)
	case "disable", "enable":
		return userChange(ctx, env, sub, "NAME", strings.ToUpper(sub[:1])+sub[1:]+" a user; disabling ends their sessions.", args)
	case "delete":
		return userDelete(ctx, env, args)
	case "set-email":
		return userSetEmail(ctx, env, args)
	case "mfa-reset":
		return userMFAReset(ctx, env, args)
	}
	fmt.Fprintf(env.stderr, "gatehouse user: unknown subcommand %q\n\n%s", sub, userUsage)
	return errUsage
}

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" || a == "help" }

func userAdd(ctx context.Context, env *cliEnv, args []string) error {
	var role, email string
	var fromStdin bool
	cfg, rest, err := loadConfig(env, "user add", "NAME", "Create a user. The password is asked on the terminal, or read from standard input with --password-stdin.", 1, args, func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", string(auth.RoleUser), "the user's `role`")
		fs.StringVar(&email, "email", "", "the user's `address`, counted as verified (an administrator vouches for it)")
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	})
	if err != nil {
		return err
	}
	pw, err := readPassword(env, fromStdin)
	if err != nil {
		return err
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		u, err := a.Accounts.Create(ctx, accounts.NewUser{
			Username: rest[0], Password: pw, Role: auth.Role(role), Active: true, Email: email, EmailVerified: email != "",
		}, cliOrigin)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "created user %s (id %s, role %s)\n", cells(u.Username, u.ID, string(u.Role))...)
		if u.Email != "" {
			fmt.Fprintf(env.stdout, "address %s, verified\n", printable(u.Email))
		}
		return nil
	})
}

// readPassword reads a password from stdin (first line) or asks twice on
// the terminal.
func readPassword(env *cliEnv, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(env.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if !env.stdinIsTTY {
		return "", errors.New("standard input is not a terminal: pass the password on stdin with --password-stdin")
	}
	first, err := prompt(env, "Password: ")
	if err != nil {
		return "", err
	}
	again, err := prompt(env, "Repeat password: ")
	if err != nil {
		return "", err
	}
	if first != again {
		return "", errors.New("the passwords do not match")
	}
	return first, nil
}

func prompt(env *cliEnv, label string) (string, error) {
	fmt.Fprint(env.stderr, label)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(env.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// withApp opens the application for a one-off command.
func withApp(ctx context.Context, env *cliEnv, cfg config.Config, fn func(*app.App) error) error {
	a, err := app.Open(ctx, cfg, newLogger(env.stderr, cfg.LogFormat), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func userList(ctx context.Context, env *cliEnv, args []string) error {
	cfg, _, err := loadConfig(env, "user list", "", "List users.", 0, args, nil)
	if err != nil {
		return err
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tROLE\tACTIVE\tEMAIL\tVERIFIED\tCREATED")
		after := ""
		for {
			users, next, err := a.Accounts.List(ctx, after, 200)
			if err != nil {
				return err
			}
			for _, u := range users {
				email := u.Email
				if email == "" {
					email = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cells(u.ID, u.Username, string(u.Role), strconv.FormatBool(u.Active),
					email, strconv.FormatBool(u.EmailVerified), u.CreatedAt.UTC().Format(time.RFC3339))...)
			}
			if next == "" {
				return tw.Flush()
			}
			after = next
		}
	})
}

// userChange runs set-role, disable and enable.
func userChange(ctx context.Context, env *cliEnv, sub, argsUsage, summary string, args []string) error {
	n := 1
	if sub == "set-role" {
		n = 2
	}
	var p accounts.Patch
	cfg, rest, err := loadConfig(env, "user "+sub, argsUsage, summary, n, args, forceFlag(&p.Force))
	if err != nil {
		return err
	}
	switch sub {
	case "set-role":
		role := auth.Role(rest[1])
		p.Role = &role
	case "disable", "enable":
		active := sub == "enable"
		p.Active = &active
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		u, err := a.Accounts.ByName(ctx, rest[0])
		if err != nil {
			return fmt.Errorf("user %q: %w", rest[0], err)
		}
		u, err = a.Accounts.Update(ctx, u.ID, p, cliOrigin)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "user %s: role %s, active %t; sessions ended\n", printable(u.Username), printable(string(u.Role)), u.Active)
		return nil
	})
}

// forceFlag adds --force, which lets a change leave no active
// administrator.
func forceFlag(force *bool) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.BoolVar(force, "force", false, "allow the change even if it leaves no active administrator")
	}
}

func userDelete(ctx context.Context, env *cliEnv, args []string) error {
	var force bool
	cfg, rest, err := loadConfig(env, "user delete", "NAME", "Delete a user; their sessions and tokens are revoked.", 1, args, forceFlag(&force))
	if err != nil {
		return err
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		u, err := a.Accounts.ByName(ctx, rest[0])
		if err != nil {
			return fmt.Errorf("user %q: %w", rest[0], err)
		}
		if err := a.Accounts.Delete(ctx, u.ID, force, cliOrigin); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "deleted user %s; their sessions and tokens are revoked\n", printable(u.Username))
		return nil
	})
}

func userSetEmail(ctx context.Context, env *cliEnv, args []string) error {
	cfg, rest, err := loadConfig(env, "user set-email", "NAME ADDR",
		`Set a user's address; an administrator vouches for it, so it counts as verified. "" removes it. The old verified address is told of the change.`, 2, args, nil)
	if err != nil {
		return err
	}
	addr, verified := rest[1], rest[1] != ""
	return withApp(ctx, env, cfg, func(a *app.App) error {
		u, err := a.Accounts.ByName(ctx, rest[0])
		if err != nil {
			return fmt.Errorf("user %q: %w", rest[0], err)
		}
		u, err = a.Accounts.Update(ctx, u.ID, accounts.Patch{Email: &addr, EmailVerified: &verified}, cliOrigin)
		if err != nil {
			return err
		}
		if u.Email == "" {
			fmt.Fprintf(env.stdout, "user %s: address removed\n", printable(u.Username))
			return nil
		}
		fmt.Fprintf(env.stdout, "user %s: address %s, verified\n", printable(u.Username), printable(u.Email))
		return nil
	})
}

func userMFAReset(ctx context.Context, env *cliEnv, args []string) error {
	cfg, rest, err := loadConfig(env, "user mfa-reset", "NAME",
		"Turn a user's second factor off (they lost their device) and end their sessions; they log in with their password alone until they enrol again.", 1, args, nil)
	if err != nil {
		return err
	}
	return withApp(ctx, env, cfg, func(a *app.App) error {
		u, err := a.Accounts.ByName(ctx, rest[0])
		if err != nil {
			return fmt.Errorf("user %q: %w", rest[0], err)
		}
		if err := a.MFA.Reset(ctx, u.ID, cliOrigin); err != nil {
			return fmt.Errorf("user %q: %w", rest[0], err)
		}
		fmt.Fprintf(env.stdout, "user %s: second factor off; sessions ended\n", printable(u.Username))
		return nil
	})
}
