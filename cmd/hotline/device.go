package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"hotline/internal/api"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// runDevice implements `hotline device init|request|install`: a native
// endpoint's own keys and its enrolment by the side's officer.
func runDevice(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("device: init, request or install?")
	}
	switch args[0] {
	case "init":
		return deviceInit(args[1:], stdout, stderr)
	case "request":
		return deviceRequest(args[1:], stdout, stderr)
	case "install":
		return deviceInstall(args[1:], stdout, stderr)
	}
	return fmt.Errorf("device: unknown subcommand %q (init, request or install)", args[0])
}

func deviceInit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("device init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "device `file` to create (required; mode 0600)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("device init: --out is required")
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("device init: %s already exists; refusing to overwrite a device's keys", *out)
	}
	d, err := trust.NewDevice()
	if err != nil {
		return err
	}
	if err := d.Save(*out); err != nil {
		return fmt.Errorf("device init: %w", err)
	}
	fmt.Fprintf(stdout, "device %s created in %s (private keys in clear, mode 0600)\n", d.ID(), *out)
	return nil
}

func deviceRequest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("device request", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("device", "", "device `file` (required)")
	side := fs.String("side", "", "the side the device belongs to (required)")
	name := fs.String("name", "", "display `name` (required)")
	roles := fs.String("roles", "", "comma-separated `roles` (required), e.g. monitor")
	out := fs.String("out", "", "write the request to this `file` (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || *side == "" || *name == "" || *roles == "" {
		return errors.New("device request: --device, --side, --name and --roles are required")
	}
	rs, err := role.ParseList(strings.Split(*roles, ","))
	if err != nil {
		return fmt.Errorf("device request: --roles: %w", err)
	}
	d, err := trust.LoadDevice(*path)
	if err != nil {
		return fmt.Errorf("device request: %w", err)
	}
	req, err := d.Request(*side, *name, rs, time.Now())
	if err != nil {
		return fmt.Errorf("device request: %w", err)
	}
	data := append(trust.Signed(req).MarshalIndent(), '\n')
	if *out == "" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}

func deviceInstall(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("device install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("device", "", "device `file` (required)")
	credPath := fs.String("credential", "", "credential `file` from hotline authority sign (required)")
	pinsPath := fs.String("pins", "", "the line's pins: the `file` hotline line show --json printed (required); check its fingerprints with your officer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || *credPath == "" || *pinsPath == "" {
		return errors.New("device install: --device, --credential and --pins are required")
	}
	d, err := trust.LoadDevice(*path)
	if err != nil {
		return fmt.Errorf("device install: %w", err)
	}
	credData, err := readSmall(*credPath)
	if err != nil {
		return fmt.Errorf("device install: %w", err)
	}
	cred, err := trust.ParseCredential(credData)
	if err != nil {
		return fmt.Errorf("device install: %s: %w", *credPath, err)
	}
	pins, err := readPins(*pinsPath)
	if err != nil {
		return fmt.Errorf("device install: %w", err)
	}
	d.Credential, d.Pins = &cred, pins
	who, err := d.Identity(time.Now())
	if err != nil {
		return fmt.Errorf("device install: %w", err)
	}
	if err := d.Save(*path); err != nil {
		return fmt.Errorf("device install: %w", err)
	}
	fmt.Fprintf(stdout, "device %s enrolled as %s (side %s, roles %v) until %s\n", d.ID(), who.Name, who.Side, who.Roles, who.Expires.UTC().Format(time.RFC3339))
	for _, p := range pins {
		fmt.Fprintf(stdout, "  pinned %-12s %s\n", p.Side, trust.Fingerprint(p.Key))
	}
	return nil
}

// readSmall reads a file of at most 64 KiB.
func readSmall(path string) ([]byte, error) { return readLimited(path, 64<<10) }

// readPins reads a line's pins from the output of hotline line show --json.
func readPins(path string) ([]trust.Pin, error) {
	data, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	var li api.LineInfo
	if err := json.Unmarshal(data, &li); err != nil || len(li.Sides) != 2 {
		return nil, fmt.Errorf("%s is not the output of hotline line show --json", path)
	}
	var pins []trust.Pin
	for _, s := range li.Sides {
		key, err := trust.DecodeB64(s.Key)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s: bad key for side %q", path, s.Side)
		}
		pins = append(pins, trust.Pin{Side: s.Side, Key: key})
	}
	return pins, nil
}
