package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/demo"
	"hotline/internal/probe"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// TestProbeRecord: each stored probe result becomes a probe entry of the
// line's record carrying the probe device's signed report, and each
// readiness transition (down, then recovered) an alert entry; the export
// verifies against the pins (the reports' signatures included). A report
// stored once and sent again adds nothing.
func TestProbeRecord(t *testing.T) {
	srv := servertest.Start(t, server.Config{DataDir: t.TempDir()}, nil)
	devs := map[string]*trust.Device{
		demo.East: srv.Device(t, demo.East, "East Probe", role.Probe),
		demo.West: srv.Device(t, demo.West, "West Probe", role.Probe),
	}
	reader := srv.Device(t, demo.East, "Olga", role.Operator)
	now := time.Now()
	posted := map[string]string{} // run/side → the report's body
	post := func(run, side string, ok bool, at time.Time) {
		body := signedResult(t, devs[side], side, run, at, func(r *probe.Result) {
			if !ok {
				r.OK, r.Reason, r.FramesDecrypted, r.CodeDigest = false, "no frame of the other side", 0, ""
			}
		})
		if status, resp := postResult(t, srv.URL(), body); status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", run, side, status, resp)
		}
		var rep probe.Report
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatal(err)
		}
		posted[run+"/"+side] = rep.Body
	}
	post("probe-rec-1", demo.East, true, now.Add(-3*time.Minute))
	post("probe-rec-1", demo.West, true, now.Add(-3*time.Minute))
	post("probe-rec-2", demo.East, true, now.Add(-2*time.Minute))
	post("probe-rec-2", demo.West, false, now.Add(-2*time.Minute))
	post("probe-rec-3", demo.East, true, now.Add(-time.Minute))
	post("probe-rec-3", demo.West, true, now.Add(-time.Minute))
	if status, _ := postResult(t, srv.URL(), signedResult(t, devs[demo.East], demo.East, "probe-rec-1", now.Add(-3*time.Minute), nil)); status != http.StatusOK {
		t.Fatalf("the same report again: %d", status)
	}

	cl, err := apiclient.New(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.SignIn(ctx, reader, demo.Line); err != nil {
		t.Fatal(err)
	}
	x, _, err := cl.Record(ctx, demo.Line)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(x, reader.Pins, nil)
	if err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	if rep.Counts[audit.Probe] != 6 || rep.Counts[audit.Alert] != 2 {
		t.Fatalf("record counts %v, want 6 probe and 2 alert entries", rep.Counts)
	}
	var alerts []audit.Entry
	for _, s := range x.Entries {
		e, err := audit.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case audit.Probe:
			wantOK := !(e.Call == "probe-rec-2" && e.Side == demo.West)
			if e.Report == nil || e.Report.Body != posted[e.Call+"/"+e.Side] || e.OK == nil || *e.OK != wantOK ||
				e.Device != devs[e.Side].ID() || e.Report.Credential != *devs[e.Side].Credential {
				t.Errorf("probe entry %s", s)
			}
		case audit.Alert:
			alerts = append(alerts, e)
		}
	}
	if len(alerts) != 2 {
		t.Fatalf("%d alert entries", len(alerts))
	}
	if a := alerts[0]; a.From != string(probe.Green) || a.To != string(probe.Down) || a.Call != "probe-rec-2" || !strings.Contains(a.Reason, "west:") {
		t.Errorf("first alert entry %+v", a)
	}
	if a := alerts[1]; a.From != string(probe.Down) || a.To != string(probe.Green) || a.Call != "probe-rec-3" {
		t.Errorf("second alert entry %+v", a)
	}
}
