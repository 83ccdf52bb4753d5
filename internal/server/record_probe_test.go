package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/demo"
	segmarker "hotline/internal/marker"
	"hotline/internal/probe"
	"hotline/internal/protocol"
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

// TestSegmentRecorded: each segment change's record entry carries the
// signed marker that made it, so a verifier of the export sees who pressed
// it: the marker verifies against the pins as the principal's, and the
// export verifies as a whole.
func TestSegmentRecorded(t *testing.T) {
	l := startRecordLine(t)
	const name = "press-recorded"
	aliceDev := l.device(demo.East, "Alice")
	joinWith(t, l.srv, name, "Alice", aliceDev, nil)
	cl := l.api(aliceDev)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var set []protocol.Marker
	for _, seg := range []string{protocol.SegmentPublic, protocol.SegmentPrivate} {
		s, err := cl.SetSegment(ctx, aliceDev, demo.Line, name, seg)
		if err != nil {
			t.Fatal(seg, err)
		}
		set = append(set, *s.Marker)
	}
	var segs []audit.Entry
	servertest.Eventually(t, "both segment entries", func() error {
		rep, es, err := l.verify(cl)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		segs = segs[:0]
		for _, e := range es {
			if e.Kind == audit.Segment {
				segs = append(segs, e)
			}
		}
		if len(segs) != 2 || rep.Counts[audit.Segment] != 2 {
			return fmt.Errorf("%d segment entries", len(segs))
		}
		return nil
	})
	for i, e := range segs {
		if e.Marker == nil || *e.Marker != set[i] || e.To != set[i].Segment || e.Call != name {
			t.Fatalf("segment entry %d: %+v, want marker %+v", i, e, set[i])
		}
		who, err := segmarker.Verify(*e.Marker, demo.Line, name, l.pins, time.UnixMilli(e.Marker.At))
		if err != nil || who.Name != "Alice" || who.DeviceID != aliceDev.ID() {
			t.Errorf("segment entry %d's marker: %+v, %v", i, who, err)
		}
	}
}
