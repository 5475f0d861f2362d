// Command gatehouse is a JWT authentication server: it logs users in,
// issues short-lived access tokens and rotating refresh tokens, revokes
// them for real, and publishes its keys so that any service can verify its
// tokens. Run `gatehouse help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is what a command reads and writes, so tests can drive the CLI.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	stdinIsTTY     bool
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server (--demo adds demo users)", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"user", "manage users: add, list, set-role, disable, enable, delete", runUser},
		{"keys", "manage signing keys: list, rotate", runKeys},
		{"token", "inspect tokens: decode (unverified), verify", runToken},
		{"audit", "list the audit trail, newest first", runAudit},
		{"mail", "list the outbox of mail: pending, sent and failed messages", runMail},
		{"version", "print version and build information", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, stdinIsTTY: isTerminal(os.Stdin)}
	code := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

// exitError carries an exit status other than 1.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errUsage means the command line was wrong; the usage has been printed.
var errUsage = exitError{2}

// cliActor is the actor of the command line's changes in the audit trail.
const cliActor = "cli"

// cliOrigin is the origin of every change the command line makes.
var cliOrigin = auth.Origin{Actor: cliActor, UserAgent: "gatehouse-cli/" + version}

// run executes the command line and returns the exit status.
func run(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		usage(env.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(env, c.run(ctx, env, args[1:]))
		}
	}
	fmt.Fprintf(env.stderr, "gatehouse: unknown command %q\n\n", args[0])
	usage(env.stderr)
	return 2
}

func exitCode(env *cliEnv, err error) int {
	var ee exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	fmt.Fprintln(env.stderr, "gatehouse:", printableLines(err.Error()))
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: gatehouse COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `gatehouse COMMAND --help` for the flags of a command.")
	fmt.Fprintln(w, "Settings come from GATEHOUSE_* environment variables; flags override them.")
}

// newFlagSet returns a FlagSet whose usage names the command and its
// arguments.
func newFlagSet(env *cliEnv, name, argsUsage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: gatehouse %s [flags] %s\n\n%s\n\nFlags:\n", name, argsUsage, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse reads flags that may come before or after positional arguments
// (`user add alice --role admin`) and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(fs *flag.FlagSet, args []string, n int) error {
	if len(args) != n {
		fmt.Fprintf(fs.Output(), "gatehouse %s: want %d argument(s), got %d\n", fs.Name(), n, len(args))
		fs.Usage()
		return errUsage
	}
	return nil
}
