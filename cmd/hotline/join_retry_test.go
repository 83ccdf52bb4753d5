package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/demo"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// TestJoinWaitsForTheServer: `hotline join --for` started before its
// server keeps trying, joins once the server is up, and receives the other
// endpoint's media: its stats line shows frames decrypted from it.
func TestJoinWaitsForTheServer(t *testing.T) {
	tier.Integration(t)
	dir := t.TempDir()
	d, err := demo.Provision(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there until the server starts below

	devices := []string{demoDeviceFile(t, d, demo.East, "early"), demoDeviceFile(t, d, demo.West, "late")}
	outs := make([]bytes.Buffer, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	join := func(i int, runFor string) {
		var stderr bytes.Buffer
		errs[i] = runJoin(context.Background(), []string{"--server", "http://" + addr, "--line", demo.Line, "--call", "wait", "--device", devices[i], "--for", runFor, "--stats"}, &outs[i], &stderr)
		if errs[i] != nil {
			t.Logf("stderr:\n%s", stderr.String())
		}
	}
	wg.Go(func() { join(0, "8s") })
	time.Sleep(1500 * time.Millisecond) // the first endpoint knocks at a closed door meanwhile
	servertest.Start(t, server.Config{Listen: addr, DataDir: dir}, nil)
	wg.Go(func() { join(1, "5s") })
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("join: %v; %v", errs[0], errs[1])
	}
	lines := strings.Split(strings.TrimSpace(outs[0].String()), "\n")
	var s statsLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("stats line %q: %v", lines[len(lines)-1], err)
	}
	var decrypted uint64
	for _, tr := range s.Tracks {
		if tr.From == "late" && tr.Kind == "video" {
			decrypted += tr.Decrypted
		}
	}
	if decrypted == 0 {
		t.Errorf("the endpoint started before its server decrypted nothing from the other: %s", lines[len(lines)-1])
	}
}
