package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/booking"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/servertest"
)

// TestReadoutVectorsJS (issue 15): the browser's readouts are byte for
// byte Go's (testdata/readout.json, TestReadoutVectors in internal/audit):
// body, id and signature.
func TestReadoutVectorsJS(t *testing.T) {
	b, _ := jsHarness(t)
	if r := runJSModule(t, b, "/harness/readout_vectors.js", nil); r.Checked < 2 {
		t.Errorf("JS checked %d vectors", r.Checked)
	}
	b.checkConsole()
}

// TestScheduleReadout (issue 15): on the schedule page an enrolled press
// officer opens a past call's record, writes its side's readout in the
// "Write readout" form and publishes it, then a correction of it; the page
// signs each with the browser's device key, both appear beside the call and
// in the Atom feed, and each verifies against the line's pins as `hotline
// readout verify` checks it (signature, role, side, id). A principal of the
// same side sees the record but no form.
func TestScheduleReadout(t *testing.T) {
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
	openRecord := func(b *browser) {
		t.Helper()
		openSchedule(b, base, "ready")
		button := fmt.Sprintf(`#sched-history [data-call-id=%q] [data-action="record"]`, c.ID)
		servertest.Eventually(t, b.name+": the past call's Record button", func() (bool, string) {
			return eval[bool](b, fmt.Sprintf(`!!document.querySelector(%q)`, button)), text(b, "sched-error")
		})
		b.do(chromedp.Click(chromedp.CSS(button)))
		servertest.Eventually(t, b.name+": the record shown", func() (bool, string) {
			s := eval[string](b, `document.getElementById('sched-record').dataset.state ?? ""`)
			return s == "ready", s + " " + text(b, "sched-record")
		})
	}
	eastText := func(b *browser) []string {
		return eval[[]string](b, `[...document.querySelectorAll('#record-readouts [data-side="east"] .record-text')].map(e => e.textContent)`)
	}
	publish := func(b *browser, body string, wantShown int) {
		t.Helper()
		b.do(chromedp.SendKeys(chromedp.ID("readout-text"), body), chromedp.Click(chromedp.CSS(`#readout-form button[type=submit]`)))
		servertest.Eventually(t, b.name+": the readout shown beside the call", func() (bool, string) {
			got := eastText(b)
			return len(got) == wantShown && got[wantShown-1] == body, fmt.Sprintf("%q; form: %s", got, text(b, "readout-status"))
		})
	}

	press := newBrowser(t, "east press", 1280, 1000)
	press.enrolAs(base, demo.East, "East Press", role.PressOfficer)
	openRecord(press)
	if eval[bool](press, `!!document.getElementById('readout-corrects')`) {
		t.Errorf("a corrects choice with no earlier readout")
	}
	first := "# East readout\n\nThe talks were *frank* and useful.\n- one\n- two"
	publish(press, first, 1)
	// A correction of the first: the form now offers it.
	firstID := eval[string](press, `document.querySelector('#record-readouts [data-side="east"] .record-readout')?.dataset.id ?? ""`)
	if !eval[bool](press, fmt.Sprintf(`(() => { const s = document.getElementById('readout-corrects'); if (!s) return false; s.value = %q; return s.value === %[1]q; })()`, firstID)) {
		t.Fatalf("the form offers no correction of %q", firstID)
	}
	second := "Correction: the talks ended at 10:00."
	publish(press, second, 2)

	anon, err := apiclient.New(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := anon.Readouts(ctx, demo.Line)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Readouts) != 2 {
		t.Fatalf("%d readouts, want 2", len(list.Readouts))
	}
	pins := srv.Device(t, demo.West, "West Auditor", role.Operator).Pins
	for i, x := range list.Readouts {
		s, err := audit.ParseSigned(x.Signed)
		if err != nil {
			t.Fatal(err)
		}
		rb, id, err := audit.OpenReadout(s, pins)
		if err != nil {
			t.Fatalf("readout %d does not verify: %v", i, err)
		}
		rid, _ := audit.ReadoutID(s)
		wantText, wantCorrects := first, ""
		if i == 1 {
			wantText, wantCorrects = second, firstID
		}
		if rid != x.ID || rb.Call != c.ID || rb.Side != demo.East || id.Name != "East Press" || rb.Text != wantText || rb.Corrects != wantCorrects {
			t.Errorf("readout %d: id %s (listed %s) call %s side %s by %s corrects %q text %q", i, rid, x.ID, rb.Call, rb.Side, id.Name, rb.Corrects, rb.Text)
		}
	}
	res, err := http.Get(base + "/lines/" + demo.Line + "/readouts.atom")
	if err != nil {
		t.Fatal(err)
	}
	feed, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"The talks were", "Correction: the talks ended at 10:00."} {
		if !strings.Contains(string(feed), want) {
			t.Errorf("the Atom feed lacks %q", want)
		}
	}
	press.checkConsole()

	principal := newBrowser(t, "east principal", 1280, 1000)
	principal.enrolAs(base, demo.East, "East Principal", role.Principal)
	openRecord(principal)
	if got := eastText(principal); len(got) != 2 {
		t.Errorf("the principal sees readouts %q", got)
	}
	if eval[bool](principal, `!!document.getElementById('readout-form')`) {
		t.Errorf("a principal is offered the readout form")
	}
	principal.checkConsole()
}
