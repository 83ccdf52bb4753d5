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
	"hotline/internal/booking"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// TestJoinOpensBookedOpening (issue 13): `hotline join --open-press` of a
// principal opens the call's booked public opening (a booked minute lasts
// 3 s here) when the call starts; `hotline record` is let in and is cut
// when the booked length has passed, by a marker the principals' joins
// sign by themselves; its manifest verifies.
func TestJoinOpensBookedOpening(t *testing.T) {
	tier.Integration(t)
	// Nobody at a terminal answers the prompt: only --open-press opens.
	in, err := os.Create(filepath.Join(t.TempDir(), "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	promptIn = in
	t.Cleanup(func() { promptIn = os.Stdin })
	srv := servertest.Start(t, server.Config{OpeningMinute: 3 * time.Second}, nil)
	ctx := context.Background()
	var c booking.Call
	svc := booking.New(srv.Store())
	east := booking.Caller{Line: demo.Line, Side: demo.East, Name: "East Principal", Roles: []role.Role{role.Principal}}
	west := booking.Caller{Line: demo.Line, Side: demo.West, Name: "West Principal", Roles: []role.Role{role.Principal}}
	c, _, err = svc.Request(ctx, east, api.Request{Line: demo.Line, Kind: schedule.Video, When: "now", Duration: time.Hour, PublicOpening: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, west, c.ID, schedule.EventAccept, api.Transition{}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var recOut, recErr servertest.Buffer
	recorded := make(chan error, 1)
	pressDev := srv.DeviceFile(t, demo.East, "Press", role.Press)
	go func() {
		recorded <- run(ctx, []string{"record", "--server", srv.URL(), "--line", demo.Line, "--call", c.ID,
			"--device", pressDev, "--out", out, "--for", "3m"}, &recOut, &recErr)
	}()
	args := func(dev string) []string {
		return []string{"--server", srv.URL(), "--line", demo.Line, "--call", c.ID, "--device", dev}
	}
	eastRun := startJoin(t, nil, append(args(srv.DeviceFile(t, demo.East, "East Principal", role.Principal)), "--open-press")...)
	westRun := startJoin(t, nil, args(srv.DeviceFile(t, demo.West, "West Principal", role.Principal))...)
	select {
	case err := <-recorded:
		if err != nil {
			t.Fatalf("record: %v\n%s", err, recErr.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the recorder was not cut")
	}
	// (Whether the recorder wrote files in the 3 s depends on the
	// machine's speed; internal/server's TestBookedOpening checks them.)
	if !strings.Contains(recErr.String(), "private: the cut") || !strings.Contains(recOut.String(), "manifest.json signed by") {
		t.Fatalf("the recorder's output:\n%s\n%s", recOut.String(), recErr.String())
	}
	elog := eastRun.stderr.String()
	if !strings.Contains(elog, "opening it (--open-press)") || !strings.Contains(elog, "msg=segment segment=public seq=1") {
		t.Fatalf("the east join did not open it:\n%s", elog)
	}
	if wlog := westRun.stderr.String(); strings.Contains(wlog, "segment=public") {
		t.Fatalf("the west join opened it without --open-press:\n%s", wlog)
	}
	servertest.Eventually(t, "a principal's join closed it", func() (bool, string) {
		both := eastRun.stderr.String() + westRun.stderr.String()
		return strings.Contains(both, "msg=segment segment=private seq=2"), both
	})
	raw, _ := json.Marshal(api.LineInfo{Name: demo.Line, Sides: api.NewPins(srv.Device(t, demo.East, "Reader").Pins)})
	pins := filepath.Join(t.TempDir(), "pins.json")
	if err := os.WriteFile(pins, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	var vout bytes.Buffer
	if err := run(ctx, []string{"footage", "verify", out, "--pins", pins}, &vout, &vout); err != nil {
		t.Fatalf("footage verify: %v\n%s", err, vout.String())
	}
}
