package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/trust"
)

// TestCallEndEndsEverywhere (issue 16): `hotline call end` on a live
// booked call ends it everywhere: `hotline join` in it exits with an error
// that says the call has ended, by whom and why; a native client in it
// ends with client.ErrEnded and the same words; the booking is ended with
// its real times; and nobody joins it again.
func TestCallEndEndsEverywhere(t *testing.T) {
	l := startCallLine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := l.callJSON("East Operator", "request", "--when", "now")
	l.must("West Principal", "accept", c.ID)

	joined := make(chan error, 1)
	go func() {
		joined <- run(ctx, []string{"join", "--server", l.url, "--line", demo.Line, "--call", c.ID,
			"--device", l.devices["East Principal"], "--audio-only"}, io.Discard, io.Discard)
	}()
	dev, err := trust.LoadDevice(l.devices["West Principal"])
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{Server: l.url, Line: demo.Line, Call: c.ID, Device: dev, Publish: true, AudioOnly: true}
	west, err := client.Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer west.Close()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		shown := l.callJSON("West Principal", "show", c.ID)
		if shown.State == "live" && len(west.Roster()) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never live with both principals: %s, roster %d", shown.State, len(west.Roster()))
		}
	}

	out := l.must("East Operator", "end", c.ID)
	if !strings.Contains(out, "ended") {
		t.Fatalf("end:\n%s", out)
	}
	const by, why = "East Operator (east)", "the call was ended"
	select {
	case err := <-joined:
		if !errors.Is(err, client.ErrEnded) || !strings.Contains(err.Error(), by) || !strings.Contains(err.Error(), why) {
			t.Fatalf("hotline join returned %v", err)
		}
	case <-ctx.Done():
		t.Fatal("hotline join still runs after the end")
	}
	select {
	case <-west.Done():
	case <-ctx.Done():
		t.Fatal("the native client's session goes on after the end")
	}
	var ended *client.EndedError
	if !errors.As(west.Err(), &ended) || ended.By != by || ended.Reason != why {
		t.Fatalf("the native client ended with %v", west.Err())
	}

	shown := l.callJSON("East Operator", "show", c.ID)
	if shown.State != "ended" || shown.ActualStart == nil || shown.ActualEnd == nil || shown.ActualSeconds == nil {
		t.Fatalf("the booked call after the end: %+v", shown)
	}
	start, _ := time.Parse(time.RFC3339, shown.ActualStart.UTC)
	end, _ := time.Parse(time.RFC3339, shown.ActualEnd.UTC)
	if start.IsZero() || end.Before(start) {
		t.Fatalf("held from %s to %s", shown.ActualStart.UTC, shown.ActualEnd.UTC)
	}
	if _, err := client.Join(ctx, cfg); err == nil || !strings.Contains(err.Error(), "ended") {
		t.Fatalf("joining the ended call again: %v", err)
	}
}
