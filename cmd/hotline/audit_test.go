package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// TestAuditCommands (issue 15): `hotline audit export` writes the line's
// record, `audit sign` signs its head and prints the short code, and
// `audit verify` checks an export against the pins and the kept head:
// it passes, and fails (non-zero, naming the row) once an entry of the
// export is edited.
func TestAuditCommands(t *testing.T) {
	l := startCallLine(t)
	c := l.callJSON("East Operator", "request", "--when", "now")
	l.must("West Principal", "accept", c.ID)
	dir := t.TempDir()
	auditCmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"audit"}, args...), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	srv := []string{"--server", l.url, "--line", demo.Line, "--device", l.devices["East Operator"]}
	head := filepath.Join(dir, "head.json")
	signed, err := auditCmd(append([]string{"sign", "--out", head}, srv...)...)
	if err != nil || !strings.Contains(signed, "signed the head of line demo: entry 2") {
		t.Fatalf("audit sign: %v\n%s", err, signed)
	}
	exported, err := auditCmd(append([]string{"export"}, srv...)...)
	if err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "record.json")
	if err := os.WriteFile(export, []byte(exported), 0o600); err != nil {
		t.Fatal(err)
	}
	pins := pinsFile(t, l.devices["East Operator"])
	out, err := auditCmd("verify", "--file", export, "--pins", pins, "--head", head)
	code := signed[strings.Index(signed, "code ")+5:][:24]
	if err != nil || !strings.Contains(out, "the chain verifies") || !strings.Contains(out, "signed by East Operator (east) for entry 2, matches (code "+code) {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}

	x, err := audit.ParseExport([]byte(exported))
	if err != nil || len(x.Entries) != 3 {
		t.Fatalf("%d entries, %v", len(x.Entries), err)
	}
	x.Entries[0] = strings.Replace(x.Entries[0], `"name":"East Operator"`, `"name":"East Principal"`, 1)
	data, _ := json.Marshal(x)
	if err := os.WriteFile(export, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := auditCmd("verify", "--file", export, "--pins", pins); err == nil || !strings.Contains(err.Error(), "chain breaks at seq 1") {
		t.Fatalf("an edited export: %v\n%s", err, out)
	}
}

// pinsFile writes the pins of the device in file dev as `hotline line show
// --json` prints them.
func pinsFile(t *testing.T, devPath string) string {
	t.Helper()
	dev, err := trust.LoadDevice(devPath)
	if err != nil {
		t.Fatal(err)
	}
	li := api.LineInfo{Name: demo.Line}
	for _, p := range dev.Pins {
		li.Sides = append(li.Sides, api.Pin{Side: p.Side, Key: trust.B64(p.Key), Fingerprint: trust.Fingerprint(p.Key)})
	}
	pins := filepath.Join(t.TempDir(), "pins.json")
	data, _ := json.Marshal(li)
	if err := os.WriteFile(pins, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return pins
}

// TestReadoutCommands (issue 15): `hotline readout publish` signs and
// publishes a Markdown file as the side's readout; `readout verify` checks
// every readout of the line against the pins; a principal may not publish.
func TestReadoutCommands(t *testing.T) {
	l := startCallLine(t)
	c := l.callJSON("East Operator", "request", "--when", "now")
	l.must("West Principal", "accept", c.ID)
	file := filepath.Join(t.TempDir(), "readout.md")
	if err := os.WriteFile(file, []byte("# Readout\n\nFrank and *useful*.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"readout"}, args...), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	srv := func(who string) []string {
		return []string{"--server", l.url, "--line", demo.Line, "--device", l.devices[who], "--call", c.ID, "--file", file}
	}
	out, err := cmd(append([]string{"publish"}, srv("East Operator")...)...)
	if err != nil || !strings.Contains(out, "published readout") {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	if out, err := cmd(append([]string{"publish"}, srv("East Principal")...)...); err == nil || !strings.Contains(err.Error(), "press officer or operator") {
		t.Fatalf("a principal publishing: %v\n%s", err, out)
	}
	out, err = cmd("verify", "--server", l.url, "--line", demo.Line, "--pins", pinsFile(t, l.devices["West Principal"]))
	if err != nil || !strings.Contains(out, "1 readouts verify") || !strings.Contains(out, "signed by East Operator (east)") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}

// TestJoinWitness (issue 15): `hotline join --witness` signs a witness
// statement into the call record once its verification code is there; the
// record, with the statement, verifies.
func TestJoinWitness(t *testing.T) {
	l := startCallLine(t)
	c := l.callJSON("East Operator", "request", "--when", "now")
	l.must("West Principal", "accept", c.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	joined := make(chan error, 1)
	go func() {
		joined <- run(ctx, []string{"join", "--server", l.url, "--line", demo.Line, "--call", c.ID,
			"--device", l.devices["East Principal"], "--audio-only", "--witness"}, io.Discard, io.Discard)
	}()
	dev, err := trust.LoadDevice(l.devices["West Principal"])
	if err != nil {
		t.Fatal(err)
	}
	west, err := client.Join(ctx, client.Config{Server: l.url, Line: demo.Line, Call: c.ID, Device: dev, Publish: true, AudioOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer west.Close()
	cl, err := apiclient.New(l.url, nil)
	if err == nil {
		err = cl.SignIn(ctx, dev, demo.Line)
	}
	if err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "a witness statement of the east principal", func() error {
		x, _, err := cl.Record(ctx, demo.Line)
		if err != nil {
			return err
		}
		rep, err := audit.Verify(x, dev.Pins, nil)
		if err != nil {
			return err
		}
		if rep.Counts[audit.Witness] == 0 {
			return fmt.Errorf("no witness entry yet: %v", rep.Counts)
		}
		return nil
	})
	cancel()
	<-joined
}
