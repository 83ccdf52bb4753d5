package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/booking"
	"hotline/internal/demo"
	"hotline/internal/markdown"
	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/servertest"
)

// TestCallRecordPage (issue 15): on the schedule page, Record on a past
// call shows its time line from the line's call record (requested,
// accepted, started, ended, a segment change, each readout published) and both sides'
// readouts side by side; a hostile readout's markup stays text in
// Chromium (no element made from it, the title untouched), as it does on
// the public readouts page.
func TestCallRecordPage(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	ctx := context.Background()
	c := bookCall(t, srv.Server, schedule.Video)
	svc := booking.New(srv.Store())
	for _, ev := range []schedule.Event{schedule.EventStart, schedule.EventEnd} {
		if _, err := svc.System(ctx, c.ID, ev, demo.East); err != nil {
			t.Fatal(err)
		}
	}
	// A segment change of the call, with its signed marker, as the
	// server's lifecycle records it.
	m := marker.Sign(srv.Device(t, demo.East, "East Principal", role.Principal), demo.Line, c.ID, protocol.SegmentPublic, 1, time.Now())
	if _, err := srv.Store().AppendRecord(ctx, audit.Entry{Line: demo.Line, At: m.At, Kind: audit.Segment, Call: c.ID, To: m.Segment, Marker: &m}); err != nil {
		t.Fatal(err)
	}
	anon, err := apiclient.New(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		side, name string
		role       role.Role
		text       string
	}{
		{demo.East, "East Press", role.PressOfficer, "East: the talks were frank and useful."},
		{demo.West, "West Operator", role.Operator, markdown.Hostile},
	} {
		dev := srv.Device(t, r.side, r.name, r.role)
		b := audit.ReadoutBody{V: audit.Version, Line: demo.Line, Call: c.ID, Side: r.side, Text: r.text, Published: time.Now().Unix()}
		s, err := audit.Sign(dev, audit.LabelReadout, &b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := anon.PublishReadout(ctx, demo.Line, s); err != nil {
			t.Fatal(err)
		}
	}

	east := newBrowser(t, "east operator", 1280, 1000)
	east.enrolAs(base, demo.East, "East Operator", role.Operator)
	openSchedule(east, base, "ready")
	button := fmt.Sprintf(`#sched-history [data-call-id=%q] [data-action="record"]`, c.ID)
	servertest.Eventually(t, "the past call's Record button", func() (bool, string) {
		return eval[bool](east, fmt.Sprintf(`!!document.querySelector(%q)`, button)), text(east, "sched-error")
	})
	east.do(chromedp.Click(chromedp.CSS(button)))
	servertest.Eventually(t, "the record shown", func() (bool, string) {
		s := eval[string](east, `document.getElementById('sched-record').dataset.state ?? ""`)
		return s == "ready", s + " " + text(east, "sched-record")
	})
	kinds := eval[[]string](east, `[...document.querySelectorAll('#record-timeline .record-entry')].map(e => e.dataset.kind)`)
	if got, want := strings.Join(kinds, " "), "requested accepted started ended segment readout readout"; got != want {
		t.Fatalf("time line %q, want %q", got, want)
	}
	if seg := eval[string](east, `document.querySelector('#record-timeline .record-entry[data-kind="segment"]').textContent`); !strings.Contains(seg, "Segment changed (signed marker)") || !strings.Contains(seg, "now public") {
		t.Errorf("segment entry shown as %q", seg)
	}
	sides := eval[[]string](east, `[...document.querySelectorAll('#record-readouts .record-side')].map(e => e.dataset.side + ": " + e.querySelector('.record-text')?.textContent)`)
	if len(sides) != 2 || !strings.HasPrefix(sides[0], "east: East: the talks were frank") || sides[1] != "west: "+markdown.Hostile {
		t.Fatalf("readouts %q", sides)
	}
	// Side by side: the two columns share a row.
	if !eval[bool](east, `(() => { const [a, b] = [...document.querySelectorAll('#record-readouts .record-side')].map(e => e.getBoundingClientRect()); return a.top === b.top && a.right <= b.left; })()`) {
		t.Errorf("the readouts are not side by side")
	}
	if n := eval[int](east, `document.querySelectorAll('#sched-record script, #sched-record img, #sched-record iframe, #sched-record svg, #sched-record a').length`); n != 0 {
		t.Errorf("the hostile readout made %d elements", n)
	}

	// The public readouts page, in Chromium: both sides, no element from the hostile text.
	east.do(chromedp.Navigate(base + "/lines/" + demo.Line + "/readouts"))
	servertest.Eventually(t, "the readouts page", func() (bool, string) {
		n := eval[int](east, `document.querySelectorAll('article.readout').length`)
		return n == 2, fmt.Sprint(n)
	})
	if n := eval[int](east, `document.querySelectorAll('article.readout script, article.readout img, article.readout iframe, article.readout svg, article.readout a').length`); n != 0 {
		t.Errorf("the readouts page made %d elements of the hostile readout", n)
	}
	if title := eval[string](east, `document.title`); title != "Readouts of line "+demo.Line {
		t.Errorf("title %q", title)
	}
	east.checkConsole()
}

// TestWitnessVectorsJS (issue 15): the browser's witness statements are
// byte for byte Go's (testdata/witness.json, TestWitnessVectors in
// internal/audit).
func TestWitnessVectorsJS(t *testing.T) {
	b, _ := jsHarness(t)
	if r := runJSModule(t, b, "/harness/witness_vectors.js", nil); r.Checked < 2 {
		t.Errorf("JS checked %d vectors", r.Checked)
	}
	b.checkConsole()
}

// TestBrowserWitness (issue 15): two browsers in a call each sign a witness
// statement once their codes agree; the server appends both (they verify
// against the pins, each by the participant that signed it) and the record
// verifies.
func TestBrowserWitness(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	east := newBrowser(t, "east", 1280, 720)
	west := newBrowser(t, "west", 1280, 720)
	east.enrolAs(base, demo.East, "East Principal", role.Principal)
	west.enrolAs(base, demo.West, "West Principal", role.Principal)
	all := []*browser{east, west}
	for _, b := range all {
		b.open(base + "/call/witness?name=x&autojoin=1")
	}
	code := sameCode(t, all, 2)
	pins := srv.Device(t, demo.East, "Auditor", role.Operator).Pins
	servertest.Eventually(t, "both browsers' witness statements in the record", func() (bool, string) {
		entries, err := srv.Store().Record(context.Background(), demo.Line, audit.MaxEntries)
		if err != nil {
			return false, err.Error()
		}
		x := audit.Export{Record: 1, Line: demo.Line, Entries: entries}
		if _, err := audit.Verify(x, pins, nil); err != nil {
			return false, err.Error()
		}
		signed := map[string]bool{}
		for _, s := range entries {
			e, _ := audit.Parse([]byte(s))
			if e.Kind != audit.Witness {
				continue
			}
			w, _, err := audit.OpenWitness(*e.Statement, pins)
			if err == nil && w.Participant == e.Participant && w.Code == code {
				signed[w.Participant] = true
			}
		}
		return signed[east.state().ID] && signed[west.state().ID], fmt.Sprintf("witnessed %v; page says %q", signed,
			eval[string](east, `JSON.stringify(window.hotline.state().e2ee?.witnessError ?? "")`))
	})
	for _, b := range all {
		b.checkConsole()
	}
}
