package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"hotline/internal/certs"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// runSegment implements `hotline segment public|private|show`: the live
// call's segment over the HTTP API (docs/API.md, "Segments"); public and
// private post a marker signed by the device (docs/PROTOCOL.md, "Segments").
func runSegment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("segment: public, private or show?")
	}
	sub := args[0]
	switch sub {
	case protocol.SegmentPublic, protocol.SegmentPrivate, "show":
	default:
		return fmt.Errorf("segment: unknown subcommand %q (public, private or show)", sub)
	}
	fs := flag.NewFlagSet("segment "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "server base `URL` (required)")
	device := fs.String("device", "", "enrolled device `file` of a principal, press officer or operator (required)")
	line := fs.String("line", "", "line `name` (required)")
	callName := fs.String("call", "", "the live call's `name` (a booked call's id; required)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	tlsFlag := caFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *server == "" || *device == "" || *line == "" || *callName == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("segment: --server, --device, --line and --call are required")
	}
	tlsConfig, err := tlsFlag()
	if err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	cl, err := signIn(ctx, *server, *device, *line, tlsConfig)
	if err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	dev, err := trust.LoadDevice(*device)
	if err != nil {
		return err
	}
	seg, err := cl.Segment(ctx, *line, *callName)
	if err == nil && sub != "show" {
		seg, err = cl.SetSegment(ctx, dev, *line, *callName, sub)
	}
	if err != nil {
		return fmt.Errorf("segment %s: %w", sub, certs.Explain(err))
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(seg)
	}
	fmt.Fprintf(stdout, "%s/%s: %s (marker %d)\n", seg.Line, seg.Call, seg.Segment, seg.Seq)
	return nil
}
