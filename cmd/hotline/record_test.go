package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// lockedBuffer is a buffer a command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRecordAndSegmentCommands: the press tour from the command line.
// hotline record waits for the segment; hotline segment public (a
// principal's device) opens it; the recorder writes the principal's camera;
// hotline segment private cuts it, the recorder exits with the manifest,
// and hotline footage verify accepts the folder against the line's pins.
func TestRecordAndSegmentCommands(t *testing.T) {
	tier.Integration(t)
	srv := servertest.Start(t, server.Config{}, servertest.Logger())
	const call = "press-cli"
	principal := srv.Device(t, demo.East, "East Principal", role.Principal)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: call, Device: principal, Publish: true, Logger: servertest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	principalFile := servertest.SaveDevice(t, principal, "principal")
	pressFile := srv.DeviceFile(t, demo.East, "Press pool", role.Press)
	out := filepath.Join(t.TempDir(), "footage")

	var recOut, recErr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"record", "--server", srv.URL(), "--line", demo.Line, "--call", call,
			"--device", pressFile, "--out", out}, &recOut, &recErr)
	}()
	segment := func(which string) string {
		var o, e bytes.Buffer
		if err := run(ctx, []string{"segment", which, "--server", srv.URL(), "--device", principalFile,
			"--line", demo.Line, "--call", call}, &o, &e); err != nil {
			t.Fatalf("segment %s: %v %s", which, err, e.String())
		}
		return o.String()
	}
	servertest.Eventually(t, "the recorder in the lobby", func() error {
		for _, e := range c.Roster() {
			if e.Name == "Press pool" && e.State == "waiting" {
				return nil
			}
		}
		return fmt.Errorf("roster %d", len(c.Roster()))
	})
	if o := segment("public"); !strings.Contains(o, "public (marker 1)") {
		t.Errorf("segment public printed %q", o)
	}
	servertest.Eventually(t, "the recorder writes the camera", func() error {
		st, err := os.Stat(filepath.Join(out, "East_Principal-camera.webm"))
		if err != nil || st.Size() < 20000 {
			return fmt.Errorf("%v", err)
		}
		return nil
	})
	if o := segment("private"); !strings.Contains(o, "private (marker 2)") {
		t.Errorf("segment private printed %q", o)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("record: %v %s", err, recErr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("hotline record did not exit at the cut")
	}
	if !strings.Contains(recOut.String(), "East_Principal-camera.webm") || !strings.Contains(recOut.String(), "manifest.json signed") {
		t.Errorf("record printed %q", recOut.String())
	}
	pins, _ := json.Marshal(api.LineInfo{Name: demo.Line, Sides: api.NewPins(principal.Pins)})
	pinsPath := filepath.Join(t.TempDir(), "pins.json")
	if err := os.WriteFile(pinsPath, pins, 0o600); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if err := run(ctx, []string{"footage", "verify", out, "--pins", pinsPath}, &o, &e); err != nil {
		t.Fatalf("footage verify: %v %s", err, e.String())
	}
	t.Logf("record: %s; verify: %s", strings.TrimSpace(recOut.String()), strings.TrimSpace(o.String()))

}
