package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"hotline/internal/client"
	"hotline/internal/footage"
	"hotline/internal/record"
	"hotline/internal/trust"
)

// runRecord implements `hotline record`: the press recorder. It waits in
// the call's lobby for the public segment, records it into --out (one WebM
// per participant and camera), and at the cut writes the manifest signed
// by the press device (hotline footage verify checks it).
func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		server     = fs.String("server", "", "server base `URL` (required)")
		line       = fs.String("line", "", "line `name` (required)")
		callName   = fs.String("call", "", "the call's `name` (a booked call's id; required)")
		devicePath = fs.String("device", "", "the press device `file` (enrolled with the press role; required)")
		out        = fs.String("out", "", "`folder` for the files and the manifest (required)")
		runFor     = fs.Duration("for", 0, "stop after this `duration` even without a cut (default: at the cut)")
		live       = fs.String("live", "", "also serve the segment live over WHEP on this `address` (e.g. 127.0.0.1:8090)")
		tlsConfig  = caFlag(fs)
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *server == "" || *line == "" || *callName == "" || *devicePath == "" || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("record: --server, --line, --call, --device and --out are required")
	}
	dev, err := trust.LoadDevice(*devicePath)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if dev.Credential == nil {
		return fmt.Errorf("record: device %s is not enrolled yet (hotline device install)", *devicePath)
	}
	tc, err := tlsConfig()
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := record.Config{Out: *out, For: *runFor, Log: log,
		Client: client.Config{Server: *server, TLS: tc, Line: *line, Call: *callName, Device: dev}}
	stopLive, err := startLive(*live, &cfg, log)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	res, err := record.Run(ctx, cfg)
	stopLive()
	if errors.Is(err, record.ErrNoSegment) {
		return fmt.Errorf("record: no public segment began (%w)", err)
	}
	if err != nil && len(res.Files) == 0 {
		return fmt.Errorf("record: %w", err)
	}
	m, werr := footage.Write(*out, *line, *callName, dev, res)
	if werr != nil {
		return fmt.Errorf("record: manifest: %w", werr)
	}
	for _, f := range m.Files {
		fmt.Fprintf(stdout, "%s  %s (%s), %d frames, %v\n", f.Path, f.Name, f.Source, f.Frames,
			time.Duration(f.Last-f.First)*time.Millisecond)
	}
	fmt.Fprintf(stdout, "%s signed by %s\n", footage.ManifestFile, dev.ID())
	return err
}

// runFootage implements `hotline footage verify DIR --pins F`.
func runFootage(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("footage: verify DIR --pins FILE")
	}
	fs := flag.NewFlagSet("footage verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pinsPath := fs.String("pins", "", "the line's pins: the `file` hotline line show --json printed (required)")
	rest := args[1:]
	var dir string
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		dir, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	if dir == "" || *pinsPath == "" {
		return errors.New("footage verify: DIR and --pins are required")
	}
	pins, err := readPins(*pinsPath)
	if err != nil {
		return fmt.Errorf("footage verify: %w", err)
	}
	m, err := footage.Verify(dir, pins)
	if err != nil {
		return fmt.Errorf("footage verify: %w", err)
	}
	fmt.Fprintf(stdout, "%s/%s: segment %v, %d files, %d in the roster: verified\n", m.Line, m.Call,
		time.Duration(m.End-m.Start)*time.Millisecond, len(m.Files), len(m.Roster))
	for _, f := range m.Files {
		fmt.Fprintf(stdout, "  %s  %s  %s\n", f.SHA256, f.Path, f.Name)
	}
	return nil
}
