package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hotline/internal/apiclient"
	"hotline/internal/demo"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// TestAuthorityRevoke: `hotline authority revoke` signs west's list and
// delivers it; the server then refuses the device's API sign-in. A list
// with the same serial saying something else is refused by the server
// (the serial only goes up), one without --server is printed and verifies
// against the line's pins, and bad flags are refused before anything is
// signed.
func TestAuthorityRevoke(t *testing.T) {
	tier.Integration(t)
	ctx := context.Background()
	dir := t.TempDir()
	srv := servertest.Start(t, server.Config{DataDir: dir}, nil)
	west := filepath.Join(dir, "demo", "authority-west.json")
	dev := srv.Device(t, demo.West, "West Lost")
	cl, err := apiclient.New(srv.URL(), &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SignIn(ctx, dev, demo.Line); err != nil {
		t.Fatalf("sign-in before the revocation: %v", err)
	}
	out, _, err := runCmd("authority", "revoke", "--key", west, "--line", demo.Line, "--serial", "2", "--devices", dev.ID(), "--server", srv.URL())
	if err != nil || !strings.Contains(out, "list 2 of side west") || !strings.Contains(out, dev.ID()) {
		t.Fatalf("revoke: %q %v", out, err)
	}
	if err := cl.SignIn(ctx, dev, demo.Line); apiclient.Status(err) != http.StatusUnauthorized {
		t.Fatalf("sign-in after the revocation: %v, want 401", err)
	}
	if _, _, err := runCmd("authority", "revoke", "--key", west, "--line", demo.Line, "--serial", "2", "--devices", "", "--server", srv.URL()); err == nil {
		t.Fatal("a list with the same serial and other devices was accepted")
	}
	if err := cl.SignIn(ctx, dev, demo.Line); apiclient.Status(err) != http.StatusUnauthorized {
		t.Fatalf("a refused list undid the revocation: %v", err)
	}
	file := filepath.Join(t.TempDir(), "list.json")
	if _, _, err := runCmd("authority", "revoke", "--key", west, "--line", demo.Line, "--serial", "3", "--out", file); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := trust.ParseRevocation(data)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := trust.VerifyRevocation(r, srv.Demo.Pins(), demo.Line); err != nil || l.Serial != 3 || len(l.Devices) != 0 {
		t.Fatalf("the written list: %+v %v", l, err)
	}
	for _, args := range [][]string{
		{"--key", west, "--line", demo.Line, "--devices", dev.ID()},                     // no serial
		{"--key", west, "--line", demo.Line, "--serial", "4", "--devices", "not-an-id"}, // a bad device id
		{"--key", west, "--serial", "4"},                                                // no line
	} {
		if _, _, err := runCmd(append([]string{"authority", "revoke"}, args...)...); err == nil {
			t.Errorf("revoke %v was accepted", args)
		}
	}
}
