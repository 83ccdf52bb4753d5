package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/api"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/record"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// segmentOf is the segment b's call page shows ("" before its badge).
func (b *browser) segmentOf() string {
	b.t.Helper()
	return eval[string](b, `document.getElementById('segment')?.dataset.segment ?? ''`)
}

// TestGoPrivateThroughPage (issue "Public opening, private talk"): a
// principal's page shows the call Private, opens the public segment with
// its button (a marker signed in the page), and the press recorder, in the
// lobby until then, records the page's camera; "Go private" on the page
// cuts the recorder, whose cut marker is the page's device's.
func TestGoPrivateThroughPage(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	const call = "presspage"
	east := newBrowser(t, "east", 1280, 720)
	east.enrolAs(base, demo.East, "East Principal", role.Principal)
	east.open(base + "/call/" + call + "?autojoin=1")
	servertest.Eventually(t, "the page to show the call private", func() (bool, string) {
		s := east.segmentOf()
		return s == "private", s
	})

	press := srv.Device(t, demo.East, "Press pool", role.Press)
	rr := startRecorder(t, base, call, press)
	rec := rr.client

	east.do(chromedp.Click(chromedp.ID("segment-action")))
	servertest.Eventually(t, "the page to show the call public", func() (bool, string) {
		s := east.segmentOf()
		return s == "public", s
	})
	servertest.Eventually(t, "the recorder to decrypt the page's camera", func() error {
		for _, ts := range rec.Stats().Tracks {
			if ts.From == "East Principal" && ts.Kind == "video" && ts.Decrypted > 30 {
				return nil
			}
		}
		return fmt.Errorf("tracks %+v", rec.Stats().Tracks)
	})

	east.do(chromedp.Click(chromedp.ID("segment-action")))
	select {
	case <-rr.done:
	case <-time.After(time.Minute):
		t.Fatal("the recorder was not cut by the page's Go private")
	}
	res, recErr := rr.res, rr.err
	if recErr != nil {
		t.Fatal("record:", recErr)
	}
	if res.Cut == nil {
		t.Fatal("no cut marker")
	}
	who, err := marker.Verify(*res.Cut, demo.Line, call, press.Pins, time.UnixMilli(res.Cut.At))
	if err != nil || who.Name != "East Principal" {
		t.Fatalf("the cut's marker: %v, signed by %v", err, who)
	}
	// The camera's file must hold the page's video. The recorder may also
	// have begun a microphone-only file, when a sound frame came before
	// the roster entry that lists the camera; every file is the page's.
	var camera *record.File
	for i, f := range res.Files {
		if f.Name != "East Principal" {
			t.Fatalf("a file of someone else: %+v", f)
		}
		if f.Source != "audio" {
			camera = &res.Files[i]
		}
	}
	if camera == nil || camera.Frames < 30 {
		t.Fatalf("no camera file of 30 frames or more: files %+v", res.Files)
	}
	servertest.Eventually(t, "the page to show the call private again", func() (bool, string) {
		s := east.segmentOf()
		return s == "private", s
	})
	t.Logf("recorded %s: %d frames; cut by %s", camera.Path, camera.Frames, who.Name)
	east.checkConsole()
}

// TestBookedOpeningThroughPage (issue 13): a call booked with a public
// opening (a booked minute lasting 6 s here). When it starts, the
// principal's page asks "Open to the press now (booked: 6 s)?"; Open signs
// the opening marker in the page and the recorder records; every page
// counts down to the booked end, and at zero the page signs the marker
// that goes private by itself: the recorder is cut by the page's marker.
func TestBookedOpeningThroughPage(t *testing.T) {
	const minute = 6 * time.Second
	srv := startServerWith(t, server.Config{OpeningMinute: minute})
	base := srv.URL()
	bc := bookRequest(t, srv.Server, api.Request{Line: demo.Line, Kind: schedule.Video, When: "now", Duration: time.Hour, PublicOpening: time.Minute})
	call := bc.ID

	press := srv.Device(t, demo.East, "Press pool", role.Press)
	rr := startRecorder(t, base, call, press)

	east := newBrowser(t, "east", 1280, 720)
	east.enrolAs(base, demo.East, "East Principal", role.Principal)
	east.open(base + "/call/" + call + "?autojoin=1")
	servertest.Eventually(t, "the page to offer the booked opening", func() (bool, string) {
		s := eval[string](east, `(() => { const o = document.getElementById('segment-offer'); return o && !o.hidden ? o.textContent : ''; })()`)
		return strings.Contains(s, "Open to the press now (booked: 6 s)?"), s
	})
	if s := east.segmentOf(); s != "private" {
		t.Fatalf("before Open the page shows %q", s)
	}
	east.do(chromedp.Click(chromedp.ID("segment-open")))
	servertest.Eventually(t, "the page to show the call public with a countdown", func() (bool, string) {
		s := east.segmentOf() + " " + eval[string](east, `(() => { const c = document.getElementById('segment-countdown'); return c && !c.hidden ? c.textContent : ''; })()`)
		if !strings.HasPrefix(s, "public") {
			seg, m, err := srv.Registry().SegmentOf(demo.Line + "/" + call)
			return false, fmt.Sprintf("%s %s; server: %s %+v %v", s, eval[string](east, `document.getElementById('toasts')?.textContent ?? ''`), seg, m, err)
		}
		return strings.HasPrefix(s, "public Private in 0:0") || s == "public Going private", s
	})
	select {
	case <-rr.done:
	case <-time.After(time.Minute):
		t.Fatal("the booked opening did not close by itself")
	}
	res, recErr := rr.res, rr.err
	if recErr != nil {
		t.Fatal("record:", recErr)
	}
	if res.Open == nil || res.Cut == nil {
		t.Fatalf("open %v, cut %v", res.Open, res.Cut)
	}
	for _, m := range []*protocol.Marker{res.Open, res.Cut} {
		who, err := marker.Verify(*m, demo.Line, call, press.Pins, time.UnixMilli(m.At))
		if err != nil || who.Name != "East Principal" {
			t.Fatalf("the %s marker: %v, signed by %v", m.Segment, err, who)
		}
	}
	if res.Cut.Seq != 2 || time.Duration(res.Cut.At-res.Open.At)*time.Millisecond < minute {
		t.Fatalf("cut %d at %v after the opening (booked %v)", res.Cut.Seq, time.Duration(res.Cut.At-res.Open.At)*time.Millisecond, minute)
	}
	servertest.Eventually(t, "the page to show the call private, no countdown", func() (bool, string) {
		s := east.segmentOf() + " " + eval[string](east, `String(document.getElementById('segment-countdown')?.hidden)`)
		return s == "private true", s
	})
	t.Logf("opened and closed by the page %v apart (booked %v); %d files", time.Duration(res.Cut.At-res.Open.At)*time.Millisecond, minute, len(res.Files))
	east.checkConsole()
}

// recorderRun is a press recorder (record.Run, as `hotline record`) run
// in the background; res and err are set once done is closed.
type recorderRun struct {
	client *client.Client
	done   chan struct{}
	res    record.Result
	err    error
}

// startRecorder starts a recorder of call with the press device and
// returns once it has joined.
func startRecorder(t *testing.T, base, call string, press *trust.Device) *recorderRun {
	t.Helper()
	r := &recorderRun{done: make(chan struct{})}
	joined := make(chan *client.Client, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	out := t.TempDir()
	go func() {
		defer close(r.done)
		r.res, r.err = record.Run(ctx, record.Config{Out: out, Log: testLogger(t),
			Client: client.Config{Server: base, Line: demo.Line, Call: call, Device: press, Logger: testLogger(t)},
			Joined: func(c *client.Client) { joined <- c }})
	}()
	select {
	case r.client = <-joined:
	case <-r.done:
		t.Fatalf("the recorder did not join: %v", r.err)
	}
	return r
}
