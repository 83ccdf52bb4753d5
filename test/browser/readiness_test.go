package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/demo"
	"hotline/internal/probe"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// reportProbe posts a probe result of dev (side) for run, started at, as
// `hotline probe` does after its test call.
func reportProbe(t *testing.T, base string, dev *trust.Device, side, run string, at time.Time, ok bool, joinMs int64) {
	t.Helper()
	r := probe.Result{V: 1, Line: demo.Line, Run: run, Side: side, Device: dev.ID(), Started: at.UnixMilli(), OK: ok}
	if ok {
		r.JoinMs, r.KeyMs, r.RTTMs, r.JitterMs, r.Loss = joinMs, joinMs/3, 1.5, 3, 0.001
		r.BitrateKbps, r.TargetKbps, r.FramesDecrypted, r.CodeDigest = 980, 1000, 300, probe.CodeDigest("1234 5678 9012 3456 7890")
	} else {
		r.Reason = "no frame from the other side's probe decrypted within 30s"
	}
	rep, err := probe.Sign(dev, r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(rep)
	res, err := http.Post(base+"/api/probe/results", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("probe result %s %s: %s", run, side, res.Status)
	}
}

// TestReadinessPage: the operators' /readiness page renders in Chromium
// with its plots, SVG with a data point per result; the schedule's go/no-go
// badge on a call starting within the hour follows the probe history (GO
// after a passed test call, NO-GO once one fails).
func TestReadinessPage(t *testing.T) {
	tier.Browser(t)
	srv := servertest.Start(t, server.Config{MetricsListen: "127.0.0.1:0"}, testLogger(t))
	demos.Store(srv.URL(), srv)
	t.Cleanup(func() { demos.Delete(srv.URL()) })
	base := srv.URL()
	east := srv.Device(t, demo.East, "East Probe", role.Probe)
	west := srv.Device(t, demo.West, "West Probe", role.Probe)
	now := time.Now()
	const passedRuns = 6
	for i := range passedRuns { // every 4 hours over the last day, the latest 20 minutes ago
		at := now.Add(-20*time.Minute - time.Duration(i)*4*time.Hour)
		run := probe.RunName(at, time.Minute)
		reportProbe(t, base, east, demo.East, run, at, true, int64(300+40*i))
		reportProbe(t, base, west, demo.West, run, at.Add(time.Second), true, int64(280+30*i))
	}

	// A call in 30 minutes, booked by the east operator.
	opDev := srv.Device(t, demo.East, "East Operator", role.Operator)
	cl, err := apiclient.New(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.SignIn(ctx, opDev, demo.Line); err != nil {
		t.Fatal(err)
	}
	c, err := cl.Request(ctx, api.RequestBody{Line: demo.Line, Kind: "video", When: "in 30m", DurationMinutes: 60, Agenda: []string{"Readiness"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Readiness != nil {
		t.Logf("request answer carries readiness %+v", c.Readiness)
	}

	op := newBrowser(t, "east operator", 1280, 1000)
	op.enrolAs(base, demo.East, "East Operator", role.Operator)
	openSchedule(op, base, "ready")
	goBadge := func() string {
		return eval[string](op, fmt.Sprintf(`document.querySelector(%q)?.dataset.go ?? ""`, schedCard(c.ID)+" .sched-go"))
	}
	servertest.Eventually(t, "the call's badge says go", func() (bool, string) { g := goBadge(); return g == api.BadgeGo, g })

	// The readiness page: ten plots (five figures, 24 h and 30 days).
	page := newBrowser(t, "operator console", 1280, 1600)
	openStatic(page, srv.MetricsURL()+"/readiness")
	if n := eval[int](page, `document.querySelectorAll('section[data-line="demo"] svg.plot').length`); n != 10 {
		t.Fatalf("%d plots, want 10", n)
	}
	if s := eval[string](page, `document.getElementById('state-demo').dataset.state`); s != string(probe.Green) {
		t.Errorf("state %q, want green", s)
	}
	// The join-time plot of the last day: a point per side per test call.
	if n := eval[int](page, `document.querySelector('.plots.day svg.plot').querySelectorAll('circle.pt').length`); n != 2*passedRuns {
		t.Errorf("the day's join plot has %d points, want %d", n, 2*passedRuns)
	}
	if n := eval[int](page, `document.querySelectorAll('.plots.month svg.plot')[4].querySelectorAll('circle.pt').length`); n < 1 {
		t.Errorf("the month's success rate has %d points", n)
	}
	if n := eval[int](page, `document.querySelectorAll('table.runs tr.run').length`); n != 2*passedRuns {
		t.Errorf("%d result rows listed, want %d", n, 2*passedRuns)
	}

	// A test call fails now: the line is down and the call no-go.
	failed := probe.RunName(time.Now(), time.Minute) + "x"
	reportProbe(t, base, west, demo.West, failed, time.Now(), false, 0)
	servertest.Eventually(t, "the call's badge says no-go", func() (bool, string) { g := goBadge(); return g == api.BadgeNoGo, g })
	openStatic(page, srv.MetricsURL()+"/readiness")
	if s := eval[string](page, `document.getElementById('state-demo').dataset.state`); s != string(probe.Down) {
		t.Errorf("after a failed test call, state %q, want down", s)
	}
	if n := eval[int](page, `document.querySelectorAll('table.runs tr.run.fail').length`); n != 1 {
		t.Errorf("%d failed rows listed, want 1", n)
	}
	op.checkConsole()
	page.checkConsole()
}

// openStatic loads a page of the server's own (no app on it) and waits
// until it is loaded.
func openStatic(b *browser, url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(int64(b.width), int64(b.height)), chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("%s: navigate %s: %v", b.name, url, err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.readyState === "complete"`, chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		b.t.Fatalf("%s: %s did not load: %v", b.name, url, err)
	}
}
