package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/redisbus"
	"github.com/gatehouse/gatehouse/internal/seal"
)

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "serve", "", "Run the HTTP server until SIGINT or SIGTERM, then shut down gracefully.")
	l := config.NewLoader(env.getenv)
	l.StoreFlags(fs)
	l.TokenFlags(fs)
	l.ServeFlags(fs)
	demo := fs.Bool("demo", false, "create the demo users alice/secret123 (admin) and bob/password456 (user) if missing, and serve the web page")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, rest, 0); err != nil {
		return err
	}
	l.SetDemo(*demo)
	cfg, err := l.Load()
	if err != nil {
		return err
	}
	return serve(ctx, env, cfg, *demo)
}

func serve(ctx context.Context, env *cliEnv, cfg config.Config, demo bool) error {
	started := time.Now()
	setHeapProfileRate.Do(func() { runtime.MemProfileRate = heapProfileRate(cfg) })
	log := newLogger(env.stderr, cfg.LogFormat)
	redisbus.RouteDriverLogs(log)
	a, err := app.Open(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.EncryptionKey == nil && !demo {
		warnNoEncryptionKey(log)
	}
	if cfg.Mail.SMTPURL == "" {
		warnMailToLog(log, demo)
	}
	if demo {
		if err := a.CreateDemoUsers(ctx); err != nil {
			return err
		}
		warnDemo(env)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set GATEHOUSE_ADDR or --addr to another address)", cfg.Addr, err)
	}
	srv := newHTTPServer(a) // registers the API's metrics, before the listener serves them
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s: %w (set GATEHOUSE_METRICS_ADDR or --metrics-addr to another address)", cfg.MetricsAddr, err)
		}
		msrv := app.HTTPServer(a.MetricsHandler(), app.ServeTimeouts)
		defer msrv.Close()
		go msrv.Serve(mln)
		log.Info("metrics listening", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	bg, stopBackground := context.WithCancel(context.Background())
	waitBackground := a.RunBackground(bg)
	defer func() { // before a.Close: the sender records what it sent
		stopBackground()
		waitBackground()
	}()
	if cfg.DebugAddr != "" {
		go serveDebug(cfg.DebugAddr, log)
	}
	log.Info("gatehouse listening", "url", "http://"+ln.Addr().String(), "issuer", cfg.Issuer,
		"alg", cfg.SigningAlg, "database", redactURL(cfg.DatabaseURL), "startup", time.Since(started).Round(time.Millisecond))
	if cfg.Browser.Page {
		log.Info("web page on", "url", "http://"+ln.Addr().String()+"/")
	}
	return serveUntilDone(ctx, srv, ln, log)
}

func newHTTPServer(a *app.App) *http.Server { return app.HTTPServer(a.Handler(), app.ServeTimeouts) }

// serveUntilDone serves until ctx ends, then lets in-flight requests finish.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

func warnDemo(env *cliEnv) {
	fmt.Fprint(env.stderr, `
################################################################################
#  WARNING: DEMO MODE. The demo users exist with well-known passwords:         #
#    alice / secret123   (role admin, alice@example.com, verified)             #
#    bob   / password456 (role user, bob@example.com, not verified)            #
#  Anyone who can reach this server can log in as them. Never use --demo in    #
#  production; delete them with: gatehouse user delete alice                   #
################################################################################

`)
}

// warnMailToLog says, once at start, that mail goes to the log: a
// development setting (the log then holds live links).
func warnMailToLog(log *slog.Logger, demo bool) {
	msg := "GATEHOUSE_SMTP_URL is not set: mail is not sent but written to this log, links included; " +
		"set it to smtp://host:port or smtps://host:port to send mail"
	if demo {
		log.Info(msg)
		return
	}
	log.Warn(msg)
}

// warnNoEncryptionKey says, once at start, that secrets are stored in the
// clear. --demo does not warn: its database is a throwaway.
func warnNoEncryptionKey(log *slog.Logger) {
	log.Warn("GATEHOUSE_ENCRYPTION_KEY is not set: secrets such as the signing keys and TOTP secrets are stored unencrypted in the database; " +
		"set it (" + seal.KeyHint + "), then run: gatehouse keys reseal")
}

// heapProfileRate is the runtime.MemProfileRate to serve with: none
// without a debug listener. The heap profile is read there only, and
// without it the samples would cost memory (the profiler's table of call
// stacks, up to 1.4 MB resident) and work for nobody.
func heapProfileRate(cfg config.Config) int {
	if cfg.DebugAddr == "" {
		return 0
	}
	return runtime.MemProfileRate
}

// setHeapProfileRate sets it once a process, as the runtime asks: early,
// and not while allocations are sampled elsewhere.
var setHeapProfileRate sync.Once

// serveDebug serves pprof on a loopback address (checked by config).
func serveDebug(addr string, log *slog.Logger) {
	log.Info("pprof listening", "url", "http://"+addr+"/debug/pprof/")
	srv := &http.Server{Addr: addr, Handler: debugHandler(), ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Warn("pprof listener stopped", "err", err)
	}
}

// debugHandler serves the pprof profiles, all but /debug/pprof/cmdline:
// the command line may hold secrets (--database-url with a password), and
// any local user can reach a loopback port. pprof.Index answers that path
// 404 as an unknown profile.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
