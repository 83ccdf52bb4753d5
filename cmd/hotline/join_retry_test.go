package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"hotline/internal/demo"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// TestJoinWaitsForTheServer: `hotline join` started before its server
// keeps trying, joins once the server is up, and receives the other
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

	args := func(device string) []string {
		return []string{"--server", "http://" + addr, "--line", demo.Line, "--call", "wait", "--device", device, "--stats"}
	}
	early := startJoin(t, nil, args(demoDeviceFile(t, d, demo.East, "early"))...)
	servertest.Eventually(t, "the first endpoint to knock at the closed door", func() (bool, string) {
		return strings.Contains(early.stderr.String(), "join failed; trying again"), early.stderr.String()
	})
	servertest.Start(t, server.Config{Listen: addr, DataDir: dir}, nil)
	late := startJoin(t, nil, args(demoDeviceFile(t, d, demo.West, "late"))...)
	early.waitDecrypting(t, "early", "late", "video")
	late.waitDecrypting(t, "late", "early", "video")
	s := early.stats(t, "early")
	late.stats(t, "late")
	var decrypted uint64
	for _, tr := range s.Tracks {
		if tr.From == "late" && tr.Kind == "video" {
			decrypted += tr.Decrypted
		}
	}
	if decrypted == 0 {
		t.Errorf("the endpoint started before its server decrypted nothing from the other: %+v", s)
	}
}
