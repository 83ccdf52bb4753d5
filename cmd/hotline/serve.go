package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"hotline/internal/server"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "HTTP address to listen on; a loopback address offers only loopback media candidates")
	fs.StringVar(&cfg.DataDir, "data", server.DefaultDataDir, "data folder (SQLite database), created if missing")
	fs.IntVar(&cfg.UDPPort, "udp-port", 8443, "the one UDP port that carries every participant's media (0: any free port)")
	fs.StringVar(&cfg.PublicIP, "public-ip", "", "IP address to announce for media when behind a 1:1 NAT")
	fs.IntVar(&cfg.MaxParticipants, "max-participants", 16, "participants allowed in one call")
	serverTLSFlags(fs, &cfg)
	checkLimits := serverLimitFlags(fs, &cfg)
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
	if err := checkLimits(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.MaxParticipants < 2 || cfg.MaxParticipants > 256 {
		return fmt.Errorf("serve: --max-participants %d is outside 2..256", cfg.MaxParticipants)
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
	fmt.Fprintf(stdout, "hotline %s serving on %s (media on udp %s, data in %s)\n", version, srv.URL(), srv.MediaAddr(), cfg.DataDir)
	<-ctx.Done()
	log.Info("shutting down")
	return srv.Close()
}
