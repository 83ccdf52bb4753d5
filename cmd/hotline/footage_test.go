package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/footage"
	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/record"
	"hotline/internal/role"
	"hotline/internal/trust"
)

func enrolled(t *testing.T, a *trust.Authority, name string, r role.Role) *trust.Device {
	t.Helper()
	d, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req, err := d.Request(a.Side, name, []role.Role{r}, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Sign(req, now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d.Credential = &c
	return d
}

// TestFootageVerifyCommand: hotline footage verify accepts a folder whose
// signed manifest matches, against pins in hotline line show --json's
// form, and exits with an error after one byte of a file changes.
func TestFootageVerifyCommand(t *testing.T) {
	east, _ := trust.NewAuthority("east")
	west, _ := trust.NewAuthority("west")
	principal := enrolled(t, east, "East Principal", role.Principal)
	press := enrolled(t, east, "Press", role.Press)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "East-camera.webm"), []byte("not really a webm, but hashed all the same"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	open := marker.Sign(principal, "demo", "c1", protocol.SegmentPublic, 1, now.Add(-time.Second))
	cut := marker.Sign(principal, "demo", "c1", protocol.SegmentPrivate, 2, now)
	res := record.Result{Open: &open, Cut: &cut, Start: now.Add(-time.Second), End: now,
		Files: []record.File{{Path: "East-camera.webm", Name: "East", Source: "camera"}}}
	if _, err := footage.Write(dir, "demo", "c1", press, res); err != nil {
		t.Fatal(err)
	}
	pins, _ := json.Marshal(api.LineInfo{Name: "demo", Sides: api.NewPins([]trust.Pin{east.Pin(), west.Pin()})})
	pinsPath := filepath.Join(t.TempDir(), "pins.json")
	if err := os.WriteFile(pinsPath, pins, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"footage", "verify", dir, "--pins", pinsPath}, &out, &errOut); err != nil {
		t.Fatalf("verify: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "verified") {
		t.Errorf("output %q", out.String())
	}
	f := filepath.Join(dir, "East-camera.webm")
	data, _ := os.ReadFile(f)
	data[3] ^= 1
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"footage", "verify", dir, "--pins", pinsPath}, &out, &errOut); err == nil {
		t.Fatal("a changed byte verified")
	}
}
