package main

import (
	"hotline/internal/demo"
	"hotline/internal/trust"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"hotline/internal/load"
)

// defaultMaxCalls stops a ramp that never fails: past it the endpoints of
// this one process, not the server, would be what is measured.
const defaultMaxCalls = 100

// runBench implements `hotline bench`: it starts a server as a child process
// (or targets --server), loads it with native endpoints and reports the
// figures as a table, and with --json as one JSON object on the last line of
// stdout (the table then goes to stderr, so that stdout is only the JSON).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := load.Config{}
	fs.StringVar(&cfg.Server, "server", "", "base `URL` of a running server on loopback (default: start one as a child process)")
	fs.StringVar(&cfg.Metrics, "metrics", "", "with --server: base `URL` of that server's metrics listener (its --metrics-listen, e.g. http://127.0.0.1:9464)")
	fs.IntVar(&cfg.Calls, "calls", 1, "calls to run (with --ramp: to start with)")
	fs.IntVar(&cfg.Participants, "participants", 4, "participants per call, each publishing audio and video and receiving all others (2..16)")
	fs.DurationVar(&cfg.Duration, "duration", load.DefaultDuration, "measured window (per ramp step), after everyone receives media")
	fs.BoolVar(&cfg.Ramp, "ramp", false, "add calls step by step until loss or residence exceed their bounds")
	fs.IntVar(&cfg.Step, "step", 1, "with --ramp: calls added per step")
	fs.IntVar(&cfg.MaxCalls, "max-calls", defaultMaxCalls, "with --ramp: stop at this many calls")
	fs.Float64Var(&cfg.MaxLoss, "max-loss", load.DefaultMaxLoss, "with --ramp: highest passing loss ratio")
	fs.DurationVar(&cfg.MaxP99, "max-p99", load.DefaultMaxP99, "with --ramp: highest passing SFU residence p99")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line of stdout")
	e2ee := fs.Bool("e2ee", false, "encrypt every frame end to end with SFrame (as real clients do) and report its cost per frame")
	dataDir := fs.String("data", "", "with --server: that server's data `folder`, provisioned by hotline demo (its demo authorities enrol the bench's endpoints)")
	verbose := fs.Bool("v", false, "log debugging detail, the endpoints' included")
	soak := soakFlags(fs)
	tlsConfig := caFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline bench [--server URL --metrics URL --data DIR [--ca FILE]] [--calls N] [--participants P] [--duration D] [--ramp [--step N] [--max-calls N] [--max-loss R] [--max-p99 D]] [--json]")
		fmt.Fprintln(stderr, "       hotline bench --soak D [--visit-every D] [--stay D] [--sample-every D] [--warm-up D] [--csv FILE] [--summary FILE] [--server URL --metrics URL --data DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err // flag has already printed the problem and the usage
	}
	cfg.E2EE = *e2ee
	if soak.duration > 0 {
		return soak.run(ctx, fs, cfg, *dataDir, *verbose, stdout, stderr)
	}
	if err := benchFlags(fs, cfg, *dataDir); err != nil {
		return err
	}
	var err error
	if cfg.TLS, err = tlsConfig(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}

	level, clientLevel := slog.LevelInfo, slog.LevelError
	if *verbose {
		level, clientLevel = slog.LevelDebug, slog.LevelInfo
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.ClientLog = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: clientLevel}))

	var rep load.Report
	err = benchAgainst(ctx, &cfg, *dataDir, func(cfg load.Config) (err error) {
		rep, err = load.Run(ctx, cfg)
		return err
	})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	table := stdout
	if *asJSON {
		table = stderr
	}
	if err := rep.WriteTable(table); err != nil {
		return err
	}
	if *asJSON {
		return rep.WriteJSON(stdout)
	}
	return nil
}

// benchFlags refuses what the flags cannot mean, before anything starts or
// is written.
func benchFlags(fs *flag.FlagSet, cfg load.Config, dataDir string) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if (cfg.Server == "") != (dataDir == "") {
		return errors.New("bench: --server and --data go together (the endpoints enrol with the demo authorities of that server's data folder)")
	}
	if (cfg.Server == "") != (cfg.Metrics == "") {
		return errors.New("bench: --server and --metrics go together (the bench reads the server's figures from its metrics listener)")
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !cfg.Ramp {
		for _, name := range []string{"step", "max-calls", "max-loss", "max-p99"} {
			if set[name] {
				return fmt.Errorf("bench: --%s only applies with --ramp", name)
			}
		}
	}
	if set["server"] && cfg.Server == "" {
		return errors.New("bench: --server is empty")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// benchAgainst runs the bench against cfg.Server, or against a server it
// starts as a child process of this same binary (so that the server's CPU
// counter counts the server alone) with a temporary data folder, stopped,
// reaped and removed at the end.
func benchAgainst(ctx context.Context, cfg *load.Config, dataDir string, run func(load.Config) error) (err error) {
	if cfg.Server != "" {
		if err := benchEnrolment(ctx, cfg, dataDir); err != nil {
			return err
		}
		return run(*cfg)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate this program to start the server: %w", err)
	}
	dir, err := os.MkdirTemp("", "hotline-bench-")
	if err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove data folder: %w", rerr))
		}
	}()
	if err := benchEnrolment(ctx, cfg, dir); err != nil {
		return err
	}
	// Every endpoint of the bench connects from 127.0.0.1: the
	// per-address bound (README, "Limits") would cap the load, not the
	// server's capacity.
	proc, err := load.StartProcess(ctx, exe, []string{"serve", "--listen", "127.0.0.1:0", "--udp-port", "0", "--tcp-port", "0", "--metrics-listen", "127.0.0.1:0", "--data", dir,
		"--max-conns", "-1", "--max-conns-per-address", "-1"})
	if err != nil {
		return err
	}
	cfg.Log.Info("server started", "url", proc.URL(), "metrics", proc.MetricsURL())
	cfg.Server, cfg.Metrics = proc.URL(), proc.MetricsURL()
	err = run(*cfg)
	if serr := proc.Stop(); serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// benchEnrolment provisions (or reuses) the demo line in dataDir and lets
// the bench enrol each endpoint with its demo authorities.
func benchEnrolment(ctx context.Context, cfg *load.Config, dataDir string) error {
	d, err := demo.Provision(ctx, dataDir)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	cfg.Line = demo.Line
	cfg.Enrol = func(name string) (*trust.Device, error) { return d.EnrolDevice(demo.East, name) }
	return nil
}
