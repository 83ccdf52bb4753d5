package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/certs"
	"hotline/internal/trust"
)

// runReadout implements `hotline readout publish|verify`: a side's signed
// readout of a call (docs/PROTOCOL.md, "Readouts").
func runReadout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("readout: publish or verify?")
	}
	switch args[0] {
	case "publish":
		return readoutPublish(ctx, args[1:], stdout, stderr)
	case "verify":
		return readoutVerify(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("readout: unknown subcommand %q (publish or verify)", args[0])
}

func readoutPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("readout publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs)
	callID := fs.String("call", "", "the booked call's `id` (required)")
	file := fs.String("file", "", "the readout, plain text or Markdown (`file`; required)")
	corrects := fs.String("corrects", "", "the `id` of an earlier readout of your side that this one corrects")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sf.server == "" || *sf.line == "" || *sf.device == "" || *callID == "" || *file == "" {
		return errors.New("readout publish: --server, --line, --device, --call and --file are required")
	}
	text, err := readLimited(*file, audit.MaxReadoutText)
	if err != nil {
		return fmt.Errorf("readout publish: %w", err)
	}
	dev, err := trust.LoadDevice(*sf.device)
	if err != nil {
		return fmt.Errorf("readout publish: %w", err)
	}
	id, err := dev.Identity(time.Now())
	if err != nil {
		return fmt.Errorf("readout publish: %w", err)
	}
	body := audit.ReadoutBody{V: audit.Version, Line: *sf.line, Call: *callID, Side: id.Side, Text: string(text),
		Corrects: *corrects, Published: time.Now().Unix()}
	signed, err := audit.Sign(dev, audit.LabelReadout, &body)
	if err != nil {
		return fmt.Errorf("readout publish: %w", err)
	}
	// Check it as the server and every reader will, before sending it.
	if _, _, err := audit.OpenReadout(signed, dev.Pins); err != nil {
		return fmt.Errorf("readout publish: %w", err)
	}
	cl, err := sf.anonymous()
	if err != nil {
		return fmt.Errorf("readout publish: %w", err)
	}
	out, err := cl.PublishReadout(ctx, *sf.line, signed)
	if err != nil {
		return fmt.Errorf("readout publish: %w", certs.Explain(err))
	}
	fmt.Fprintf(stdout, "published readout %s of %s on call %s (record entry %d)\n%s/lines/%s/readouts\n", out.ID, id.Side, *callID, out.Seq, *sf.server, *sf.line)
	return nil
}

// anonymous is a client of the server without a session.
func (sf *serverFlags) anonymous() (*apiclient.Client, error) {
	tlsConfig, err := sf.tls()
	if err != nil {
		return nil, err
	}
	return apiclient.New(*sf.server, certs.HTTPClient(tlsConfig, 30*time.Second))
}

func readoutVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("readout verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "server base `URL` (required)")
	line := fs.String("line", "", "line `name` (required)")
	pinsPath := fs.String("pins", "", "the line's pins: the `file` hotline line show --json printed (required)")
	tlsFlag := caFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *server == "" || *line == "" || *pinsPath == "" {
		return errors.New("readout verify: --server, --line and --pins are required")
	}
	pins, err := readPins(*pinsPath)
	if err != nil {
		return fmt.Errorf("readout verify: %w", err)
	}
	sf := serverFlags{server: server, line: line, tls: tlsFlag}
	cl, err := sf.anonymous()
	if err != nil {
		return fmt.Errorf("readout verify: %w", err)
	}
	list, err := cl.Readouts(ctx, *line)
	if err != nil {
		return fmt.Errorf("readout verify: %w", certs.Explain(err))
	}
	bad := 0
	for _, x := range list.Readouts {
		err := checkReadout(x.Signed, x.ID, x.Text, *line)
		if err == nil {
			var s audit.Signed
			s, _ = audit.ParseSigned(x.Signed)
			var rb audit.ReadoutBody
			var id *trust.Identity
			if rb, id, err = audit.OpenReadout(s, pins); err == nil {
				fmt.Fprintf(stdout, "ok    %s  %s readout of call %s, signed by %s (%s)\n", x.ID, rb.Side, rb.Call, id.Name, id.Side)
				continue
			}
		}
		bad++
		fmt.Fprintf(stdout, "FAIL  %s  %v\n", x.ID, err)
	}
	if bad > 0 {
		return fmt.Errorf("readout verify: %d of %d readouts do not verify", bad, len(list.Readouts))
	}
	fmt.Fprintf(stdout, "%d readouts verify\n", len(list.Readouts))
	return nil
}

// checkReadout: the server's fields agree with the signed readout (its id,
// text and line).
func checkReadout(raw []byte, id, text, line string) error {
	s, err := audit.ParseSigned(raw)
	if err != nil {
		return err
	}
	rid, err := audit.ReadoutID(s)
	if err != nil {
		return err
	}
	rb, err := audit.PeekReadout(s)
	switch {
	case err != nil:
		return err
	case rid != id:
		return fmt.Errorf("the server lists it as %s, but its id is %s", id, rid)
	case rb.Text != text || rb.Line != line:
		return errors.New("the text (or line) the server shows differs from the signed one")
	}
	return nil
}
