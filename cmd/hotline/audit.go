package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/certs"
	"hotline/internal/trust"
)

// runAudit implements `hotline audit export|verify|sign`: the line's call
// record (docs/PROTOCOL.md, "Call record").
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("audit: export, verify or sign?")
	}
	switch args[0] {
	case "export":
		return auditExport(ctx, args[1:], stdout, stderr)
	case "verify":
		return auditVerify(args[1:], stdout, stderr)
	case "sign":
		return auditSign(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("audit: unknown subcommand %q (export, verify or sign)", args[0])
}

// serverFlags are the flags of a command that signs in to a server.
type serverFlags struct {
	server, line, device *string
	tls                  func() (*tls.Config, error)
	client               *apiclient.Client // signed in by fetch
}

func addServerFlags(fs *flag.FlagSet) *serverFlags {
	return &serverFlags{
		server: fs.String("server", "", "server base `URL`, e.g. http://127.0.0.1:8080 (required)"),
		line:   fs.String("line", "", "line `name` (required)"),
		device: fs.String("device", "", "enrolled device `file` (required)"),
		tls:    caFlag(fs),
	}
}

// fetch signs in and fetches the line's record.
func (sf *serverFlags) fetch(ctx context.Context, cmd string) (audit.Export, []byte, error) {
	if *sf.server == "" || *sf.line == "" || *sf.device == "" {
		return audit.Export{}, nil, fmt.Errorf("%s: --server, --line and --device are required", cmd)
	}
	tlsConfig, err := sf.tls()
	if err != nil {
		return audit.Export{}, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if sf.client, err = signIn(ctx, *sf.server, *sf.device, *sf.line, tlsConfig); err != nil {
		return audit.Export{}, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	x, raw, err := sf.client.Record(ctx, *sf.line)
	if err != nil {
		return x, nil, fmt.Errorf("%s: %w", cmd, certs.Explain(err))
	}
	return x, raw, nil
}

func auditExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, raw, err := sf.fetch(ctx, "audit export")
	if err != nil {
		return err
	}
	_, err = stdout.Write(raw)
	return err
}

func auditSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs)
	out := fs.String("out", "", "also write the signed head to this `file` (keep it: audit verify --head checks a record against it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	x, _, err := sf.fetch(ctx, "audit sign")
	if err != nil {
		return err
	}
	dev, err := trust.LoadDevice(*sf.device)
	if err != nil {
		return fmt.Errorf("audit sign: %w", err)
	}
	// Sign only what verifies against the device's own pins.
	rep, err := audit.Verify(x, dev.Pins, nil)
	if err != nil {
		return fmt.Errorf("audit sign: the record does not verify, not signing: %w", err)
	}
	if rep.Entries == 0 {
		return errors.New("audit sign: the record is empty")
	}
	h := audit.HeadBody{V: audit.Version, Line: x.Line, Seq: uint64(rep.Entries), Hash: trust.B64(rep.Hash), Signed: time.Now().Unix()}
	signed, err := audit.Sign(dev, audit.LabelHead, &h)
	if err != nil {
		return fmt.Errorf("audit sign: %w", err)
	}
	if _, err := sf.client.PostHead(ctx, x.Line, signed); err != nil {
		return fmt.Errorf("audit sign: %w", certs.Explain(err))
	}
	if *out != "" {
		data, _ := json.MarshalIndent(signed, "", "  ") // strings only: cannot fail
		if err := os.WriteFile(*out, append(data, '\n'), 0o600); err != nil {
			return fmt.Errorf("audit sign: %w", err)
		}
	}
	fmt.Fprintf(stdout, "signed the head of line %s: entry %d\ncode %s (read it to the other side's operator)\n", x.Line, h.Seq, rep.Code)
	return nil
}

func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "the export (`file` from hotline audit export; required)")
	pinsPath := fs.String("pins", "", "the line's pins: the `file` hotline line show --json printed (required)")
	var heads stringList
	fs.Var(&heads, "head", "a signed head `file` kept from hotline audit sign --out (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *pinsPath == "" {
		return errors.New("audit verify: --file and --pins are required")
	}
	pins, err := readPins(*pinsPath)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	data, err := readLimited(*file, audit.MaxExport)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	x, err := audit.ParseExport(data)
	if err != nil {
		return fmt.Errorf("audit verify: %s: %w", *file, err)
	}
	var kept []audit.Signed
	for _, h := range heads {
		data, err := readSmall(h)
		if err == nil {
			var s audit.Signed
			if s, err = audit.ParseSigned(data); err == nil {
				kept = append(kept, s)
			}
		}
		if err != nil {
			return fmt.Errorf("audit verify: --head %s: %w", h, err)
		}
	}
	rep, err := audit.Verify(x, pins, kept)
	printReport(stdout, rep)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	fmt.Fprintln(stdout, "the chain verifies")
	return nil
}

func printReport(w io.Writer, rep audit.Report) {
	fmt.Fprintf(w, "line %s: %d entries\n", rep.Line, rep.Entries)
	if rep.Entries > 0 {
		fmt.Fprintf(w, "  head: entry %d, hash %s\n  code %s\n", rep.Entries, trust.B64(rep.Hash), rep.Code)
	}
	kinds := make([]string, 0, len(rep.Counts))
	for k := range rep.Counts {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-10s %d\n", k, rep.Counts[audit.Kind(k)])
	}
	for _, h := range rep.Heads {
		where := "kept head"
		if h.Entry > 0 {
			where = fmt.Sprintf("head in entry %d", h.Entry)
		}
		fmt.Fprintf(w, "  %s: signed by %s for entry %d, matches (code %s)\n", where, h.Signer, h.Seq, h.Code)
	}
}

// readLimited reads a file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return data, nil
}
