package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"hotline/internal/demo"
	"hotline/internal/server"
)

// runDemo implements `hotline demo`: a complete local line on the embedded
// defaults, with demo authorities in the data folder and one enrolment link
// per role, then the server.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "HTTP address to listen on")
	fs.StringVar(&cfg.DataDir, "data", server.DefaultDataDir, "data folder (SQLite database and the demo authorities)")
	fs.IntVar(&cfg.UDPPort, "udp-port", 8443, "the one UDP media port (0: any free port)")
	fs.IntVar(&cfg.TCPPort, "tcp-port", server.DefaultTCPPort, "the TCP media port where UDP is blocked: ICE over TCP and TURN (0: any free port)")
	fs.IntVar(&cfg.TURNPort, "turn-port", 0, "also serve the TURN relay on this port, over UDP and TCP (0: only on --tcp-port)")
	serverTLSFlags(fs, &cfg)
	checkLimits := serverLimitFlags(fs, &cfg)
	checkReadiness := readinessFlags(fs, &cfg)
	metricsFlag(fs, &cfg)
	verbose := fs.Bool("verbose", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return fmt.Errorf("demo: --udp-port %d is not a port number", cfg.UDPPort)
	}
	if err := errors.Join(checkLimits(), checkReadiness()); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := checkMediaPorts(cfg); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := checkMetricsListen(cfg.MetricsListen); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, d, err := server.StartDemo(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hotline %s demo on %s (%s; data in %s)\n\n", version, srv.URL(), metricsNote(srv), cfg.DataDir)
	fmt.Fprintln(stdout, "DEMO ONLY: both sides' authority keys are in the data folder and this server signs")
	fmt.Fprintln(stdout, "enrolments with them. For real talks each side's officer keeps its own authority")
	fmt.Fprintln(stdout, "(hotline authority init) and signs devices itself.")
	fmt.Fprintln(stdout)
	for _, a := range d.Authorities {
		fmt.Fprintf(stdout, "  side %-5s authority fingerprint %s\n", a.Side, a.Fingerprint())
	}
	fmt.Fprintf(stdout, "\nOpen each link in its own browser profile; each enrols the browser that opens it\n(once) and leads to the call %q on line %q:\n\n", demo.Call, demo.Line)
	for _, l := range d.Links {
		fmt.Fprintf(stdout, "  %-17s %-24s %s\n", l.Name, "("+strings.Join(l.Roles, ",")+")", l.URL(srv.URL()))
	}
	fmt.Fprintf(stdout, "\nThe line's schedule (request and answer calls, in both capitals' time): %s/schedule\n", srv.URL())
	fmt.Fprintln(stdout)
	<-ctx.Done()
	log.Info("shutting down")
	return srv.Close()
}
