package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"hotline/internal/protocol"
	"hotline/internal/server"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "HTTP address to listen on; a loopback address offers only loopback media candidates")
	fs.StringVar(&cfg.DataDir, "data", server.DefaultDataDir, "data folder (SQLite database), created if missing")
	fs.IntVar(&cfg.UDPPort, "udp-port", 8443, "the one UDP port that carries every participant's media (0: any free port)")
	fs.IntVar(&cfg.TCPPort, "tcp-port", server.DefaultTCPPort, "the one TCP port for media where UDP is blocked: ICE over TCP, TURN over TCP and TLS (0: any free port)")
	fs.IntVar(&cfg.TURNPort, "turn-port", 0, "also serve the TURN relay on this port, over UDP and TCP (0: only on --tcp-port)")
	fs.StringVar(&cfg.PublicIP, "public-ip", "", "IP address to announce for media when behind a 1:1 NAT")
	fs.IntVar(&cfg.MaxParticipants, "max-participants", 16, fmt.Sprintf("participants allowed in one call (2..%d)", protocol.MaxParticipants))
	serverTLSFlags(fs, &cfg)
	checkLimits := serverLimitFlags(fs, &cfg)
	checkReadiness := readinessFlags(fs, &cfg)
	metricsFlag(fs, &cfg)
	verbose := fs.Bool("verbose", false, "log debug messages")
	pprofAddr := fs.String("pprof", "", "serve Go's profiler on this loopback address (e.g. 127.0.0.1:6060)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return fmt.Errorf("serve: --udp-port %d is not a port number", cfg.UDPPort)
	}
	if err := errors.Join(checkLimits(), checkReadiness()); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := checkMediaPorts(cfg); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.MaxParticipants < 2 || cfg.MaxParticipants > protocol.MaxParticipants {
		return fmt.Errorf("serve: --max-participants %d is outside 2..%d (a call's roster must fit in one message)", cfg.MaxParticipants, protocol.MaxParticipants)
	}
	if err := checkMetricsListen(cfg.MetricsListen); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *pprofAddr != "" {
		stop, err := startPprof(*pprofAddr)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer stop()
	}
	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hotline %s serving on %s (media on udp %s and tcp %s; %s; data in %s)\n", version, srv.URL(), srv.MediaAddr(), srv.MediaTCPAddr(), metricsNote(srv), cfg.DataDir)
	<-ctx.Done()
	log.Info("shutting down")
	return srv.Close()
}

// checkMediaPorts refuses port flags out of range or colliding.
func checkMediaPorts(cfg server.Config) error {
	for _, p := range []struct {
		flag string
		port int
	}{{"--tcp-port", cfg.TCPPort}, {"--turn-port", cfg.TURNPort}} {
		if p.port < 0 || p.port > 65535 {
			return fmt.Errorf("%s %d is not a port number", p.flag, p.port)
		}
	}
	if cfg.TURNPort != 0 && (cfg.TURNPort == cfg.TCPPort || cfg.TURNPort == cfg.UDPPort) {
		return fmt.Errorf("--turn-port %d is already --tcp-port or --udp-port (TURN is on --tcp-port anyway)", cfg.TURNPort)
	}
	return nil
}
