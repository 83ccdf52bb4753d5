package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"hotline/internal/enrol"
	"hotline/internal/protocol"
	"hotline/internal/schedule"
	"hotline/internal/server"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// runLine implements `hotline line add|show`, on the server's data folder.
func runLine(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("line: add or show?")
	}
	switch args[0] {
	case "add":
		return lineAdd(ctx, args[1:], stdout, stderr)
	case "show":
		return lineShow(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("line: unknown subcommand %q (add or show)", args[0])
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func lineAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("line add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "line `name` (required)")
	dataDir := fs.String("data", server.DefaultDataDir, "the server's data folder")
	var sides, zones multiFlag
	fs.Var(&sides, "side", "`NAME=PUBKEY`: a side and its authority's public key (from hotline authority show); exactly twice")
	fs.Var(&zones, "tz", "`NAME=ZONE`: a side's time zone, e.g. east=Europe/Moscow (default UTC)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := protocol.ValidID("line name", *name); err != nil {
		return fmt.Errorf("line add: --name: %w", err)
	}
	if len(sides) != 2 {
		return fmt.Errorf("line add: give --side exactly twice, not %d times", len(sides))
	}
	tz := map[string]string{}
	for _, z := range zones {
		side, zone, ok := strings.Cut(z, "=")
		if !ok {
			return fmt.Errorf("line add: --tz %q is not NAME=ZONE", z)
		}
		if _, err := schedule.LoadZone(zone); err != nil {
			return fmt.Errorf("line add: --tz %s: %w", side, err)
		}
		tz[side] = zone
	}
	var recs []store.Side
	for _, sf := range sides {
		side, key, ok := strings.Cut(sf, "=")
		if !ok {
			return fmt.Errorf("line add: --side %q is not NAME=PUBKEY", sf)
		}
		if err := trust.ValidSide(side); err != nil {
			return fmt.Errorf("line add: --side: %w", err)
		}
		pub, err := trust.DecodeB64(key)
		if err != nil || len(pub) != 32 {
			return fmt.Errorf("line add: --side %s: the key must be a 32-byte Ed25519 public key in base64url", side)
		}
		recs = append(recs, store.Side{Name: side, AuthorityKey: pub, TimeZone: tz[side]})
	}
	if recs[0].Name == recs[1].Name {
		return fmt.Errorf("line add: both sides are named %q", recs[0].Name)
	}
	for side := range tz {
		if side != recs[0].Name && side != recs[1].Name {
			return fmt.Errorf("line add: --tz for %q, which is not a side of the line", side)
		}
	}
	st, err := store.Open(*dataDir, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range recs {
		if err := st.AddSide(ctx, r); err != nil {
			return fmt.Errorf("line add: %w", err)
		}
	}
	if err := st.AddLine(ctx, *name, recs[0].Name, recs[1].Name); err != nil {
		return fmt.Errorf("line add: %w", err)
	}
	fmt.Fprintf(stdout, "line %s added; each officer now confirms the other side's fingerprint out of band:\n", *name)
	for _, r := range recs {
		fmt.Fprintf(stdout, "  %-12s %s\n", r.Name, trust.Fingerprint(r.AuthorityKey))
	}
	return nil
}

func lineShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("line show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "line `name` (required)")
	dataDir := fs.String("data", server.DefaultDataDir, "the server's data folder")
	asJSON := fs.Bool("json", false, "print the line's pins as JSON (for hotline device install --pins)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := protocol.ValidID("line name", *name); err != nil {
		return fmt.Errorf("line show: --name: %w", err)
	}
	st, err := store.Open(*dataDir, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	li, err := enrol.New(st, nil).Line(ctx, *name)
	if err != nil {
		return fmt.Errorf("line show: %w", err)
	}
	if *asJSON {
		data, _ := json.MarshalIndent(li, "", "  ")
		fmt.Fprintf(stdout, "%s\n", data)
		return nil
	}
	fmt.Fprintf(stdout, "line %s\n", li.Name)
	for _, s := range li.Sides {
		fmt.Fprintf(stdout, "  side %-12s authority %s\n  %-17s fingerprint %s\n", s.Side, s.Key, "", s.Fingerprint)
	}
	return nil
}
