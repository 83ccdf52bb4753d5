package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// demoDeviceFile enrols a device named name on the demo line d and saves it
// as a device file, as `hotline device install` would.
func demoDeviceFile(t *testing.T, d *demo.Demo, side, name string) string {
	t.Helper()
	dev, err := d.EnrolDevice(side, name)
	if err != nil {
		t.Fatal(err)
	}
	return servertest.SaveDevice(t, dev, name)
}

func TestJoinFlagErrors(t *testing.T) {
	d, err := demo.Provision(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dev := demoDeviceFile(t, d, demo.East, "n")
	unenrolledDev, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	unenrolled := filepath.Join(t.TempDir(), "unenrolled.device")
	if err := unenrolledDev.Save(unenrolled); err != nil {
		t.Fatal(err)
	}
	who := []string{"--line", demo.Line, "--device", dev}
	base := append([]string{"--server", "http://127.0.0.1:1", "--call", "c"}, who...)
	base = base[:len(base):len(base)] // each case appends to its own copy
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"--call", "c"}, who...), "--server is required"},
		{append([]string{"--server", "http://127.0.0.1:1"}, who...), "--call is required"},
		{[]string{"--server", "http://127.0.0.1:1", "--call", "c", "--device", dev}, "--line is required"},
		{[]string{"--server", "http://127.0.0.1:1", "--call", "c", "--line", demo.Line}, "--device is required"},
		{[]string{"--server", "http://127.0.0.1:1", "--call", "c", "--line", demo.Line, "--device", filepath.Join(t.TempDir(), "none")}, "no such file"},
		{[]string{"--server", "http://127.0.0.1:1", "--call", "c", "--line", demo.Line, "--device", unenrolled}, "not enrolled"},
		{[]string{"--server", "http://127.0.0.1:1", "--call", "c", "--line", "no spaces", "--device", dev}, "line name"},
		{append(base, "--audio-only", "--cameras", "2"), "contradicts"},
		{append(base, "--cameras", "-1"), "negative"},
		{append(base, "--receive-only", "--cameras", "2"), "receive-only"},
		{append(base, "--for", "-3s"), "negative"},
		{append(base, "--for", "soon"), "invalid value"},
		{append(base, "extra"), "unexpected argument"},
		{append(base, "--cameras", "9"), "cameras"},
		{append(base, "--interpret", "en", "--receive-only"), "drop --receive-only"},
		{append(base, "--interpret", "e1"), "not a language tag"},
		{append(base, "--listen", "not a tag"), "listen"},
		{append([]string{"--server", "gopher://x", "--call", "c"}, who...), "scheme"},
		{append([]string{"--server", "http://127.0.0.1:1", "--call", "no spaces"}, who...), "call name"},
	} {
		var stderr bytes.Buffer
		err := runJoin(context.Background(), tc.args, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("join %q = %v (stderr %q), want an error mentioning %q", tc.args, err, stderr.String(), tc.want)
		}
	}
	if err := runJoin(context.Background(), []string{"--help"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help = %v, want flag.ErrHelp", err)
	}
}

// Two `hotline join --stats` runs in one call: once each has logged the
// other's audio and video decrypting, each is stopped (Ctrl-C) and prints,
// as its last line, JSON showing the other's audio and video.
func TestJoinStatsEndToEnd(t *testing.T) {
	tier.Integration(t)
	srv := servertest.Start(t, server.Config{}, nil)

	names := []string{"ann", "ben"}
	devices := []string{srv.DeviceFile(t, demo.East, "ann"), srv.DeviceFile(t, demo.West, "ben")}
	runs := make([]*joinRun, len(names))
	for i := range names {
		runs[i] = startJoin(t, nil, "--server", srv.URL(), "--line", demo.Line, "--call", "cli", "--device", devices[i], "--stats")
	}
	for i, name := range names {
		runs[i].waitDecrypting(t, name, names[1-i], "audio", "video")
	}
	for i, name := range names {
		s := runs[i].stats(t, name)
		other := names[1-i]
		kinds := map[string]bool{}
		for _, tr := range s.Tracks {
			// Decrypted: end to end, with the other's SFrame key.
			if tr.From == other && tr.Packets > 0 && tr.Frames > 0 && tr.Bytes > 0 && tr.Decrypted > 0 {
				kinds[tr.Kind] = true
			}
		}
		if !kinds["audio"] || !kinds["video"] {
			t.Errorf("%s did not receive audio and video from %s: %+v", name, other, s)
		}
	}
}

// TestJoinInterpretUnknownLanguage: `hotline join --interpret LANG` into a
// call that lacks LANG exits non-zero with an error naming it.
func TestJoinInterpretUnknownLanguage(t *testing.T) {
	tier.Integration(t)
	srv := servertest.Start(t, server.Config{}, nil)
	dev := srv.DeviceFile(t, demo.East, "Ina", role.Interpreter)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	err := run(ctx, []string{"join", "--server", srv.URL(), "--line", demo.Line, "--call", "cli", "--device", dev, "--interpret", "fr"}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), `"fr"`) || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("join --interpret fr = %v\n%s", err, stderr.String())
	}
}
