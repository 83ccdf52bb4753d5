package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestProbeResults(t *testing.T) {
	s, _ := withLineIn(t)
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	add := func(run, side string, started time.Time) error {
		_, err := s.AddProbeResult(ctx, ProbeResult{Line: "demo", Run: run, Side: side, Device: "d-" + side, Started: started, Received: now, OK: true, Report: []byte(`{"r":"` + run + side + `"}`)})
		return err
	}
	for _, r := range []struct {
		run, side string
		age       time.Duration
	}{{"probe-1", "east", 48 * time.Hour}, {"probe-1", "west", 48 * time.Hour}, {"probe-2", "east", time.Hour}, {"probe-2", "west", time.Hour}} {
		if err := add(r.run, r.side, now.Add(-r.age)); err != nil {
			t.Fatal(err)
		}
	}
	if err := add("probe-2", "east", now); !errors.Is(err, ErrProbeDuplicate) {
		t.Fatalf("a second east result of probe-2: %v", err)
	}
	rows, err := s.ProbeResults(ctx, "demo", now.Add(-24*time.Hour), 10)
	if err != nil || len(rows) != 2 || rows[0].Run != "probe-2" || string(rows[0].Report) == "" || !rows[0].Started.Equal(now.Add(-time.Hour)) {
		t.Fatalf("last 24 h: %+v %v", rows, err)
	}
	n, err := s.DeleteProbeResultsBefore(ctx, now.Add(-24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if rows, _ := s.ProbeRun(ctx, "demo", "probe-1"); len(rows) != 0 {
		t.Fatalf("probe-1 kept: %+v", rows)
	}
	if rows, _ := s.ProbeRun(ctx, "demo", "probe-2"); len(rows) != 2 {
		t.Fatalf("probe-2: %+v", rows)
	}
}
