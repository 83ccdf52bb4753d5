package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/metrics"
	"hotline/internal/probe"
	"hotline/internal/prober"
	"hotline/internal/protocol"
	"hotline/internal/readiness"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// TestProbeGate: a probe device joins test calls only, and a test call
// admits probe devices only.
func TestProbeGate(t *testing.T) {
	if testing.Short() {
		t.Skip("real server and Pion endpoints")
	}
	l := startE2EELine(t)
	for _, tc := range []struct {
		call  string
		roles []role.Role
	}{
		{demo.Call, []role.Role{role.Probe}},
		{"c-7kq2mrx4tp3a", []role.Role{role.Probe}},
		{"probe-20261206t020000", []role.Role{role.Principal}},
		{"probe-20261206t020000", []role.Role{role.Operator}},
		{"probe-20261206t020000", []role.Role{role.Interpreter}}, // sending audio: not receive-only
	} {
		_, err := l.joinErr(tc.call, demo.East, "someone", tc.roles)
		var se *client.ServerError
		if !errors.As(err, &se) || se.Msg.Code != protocol.CodeUnauthorized || !strings.Contains(se.Msg.Message, "test calls") {
			t.Errorf("%v joining %s: %v, want unauthorized (test calls)", tc.roles, tc.call, err)
		}
	}
}

// TestProbeWatched: the wall monitor and an interpreter booth join a test
// call receive-only and decrypt both probes' media; the probes pass with
// matching codes (an interpreter that publishes is refused: TestProbeGate).
// The window is long enough for the watchers, which subscribe to a probe
// only after it publishes, to decrypt some of it on a loaded machine.
func TestProbeWatched(t *testing.T) {
	if testing.Short() {
		t.Skip("a test call through real Pion endpoints")
	}
	srv := servertest.Start(t, server.Config{}, nil)
	const run = "probe-watched-1"
	watchers := map[string]*client.Client{}
	for name, w := range map[string]struct {
		side string
		role role.Role
	}{"West Monitor": {demo.West, role.Monitor}, "East Interpreter": {demo.East, role.Interpreter}} {
		c, err := client.Join(t.Context(), client.Config{Server: srv.URL(), Line: demo.Line, Call: run,
			Device: srv.Device(t, w.side, name, w.role), Publish: false})
		if err != nil {
			t.Fatalf("%s joining the test call receive-only: %v", name, err)
		}
		defer c.Close()
		watchers[name] = c
	}
	var wg sync.WaitGroup
	for side, name := range map[string]string{demo.East: "East Probe", demo.West: "West Probe"} {
		dev := srv.Device(t, side, name, role.Probe)
		wg.Go(func() {
			o, err := prober.Run(t.Context(), prober.Config{Server: srv.URL(), Line: demo.Line, Device: dev, Run: run,
				Window: 6 * time.Second})
			if err != nil || !o.Result.OK || !o.CodeMatch {
				t.Errorf("%s probe with the monitor and the interpreter watching: %+v, %v", side, o, err)
			}
		})
	}
	wg.Wait()
	for name, c := range watchers {
		from := map[string]uint64{}
		for _, tr := range c.Stats().Tracks {
			from[tr.From] += tr.Decrypted
		}
		if from["East Probe"] == 0 || from["West Probe"] == 0 {
			t.Errorf("%s decrypted %v", name, from)
		}
	}
}

// joinErr joins with a fresh device and returns the join's error.
func (l *e2eeLine) joinErr(call, side, name string, roles []role.Role) (*client.Client, error) {
	c, err := client.Join(context.Background(), client.Config{Server: l.srv.URL(), Line: demo.Line, Call: call,
		Device: l.device(side, name, roles...), Publish: true, Cameras: 1})
	if err == nil {
		c.Close()
	}
	return c, err
}

// signedResult is a probe result of dev for run, started at, signed.
func signedResult(t *testing.T, dev *trust.Device, side, run string, at time.Time, edit func(*probe.Result)) []byte {
	t.Helper()
	r := probe.Result{V: 1, Line: demo.Line, Run: run, Side: side, Device: dev.ID(), Started: at.UnixMilli(), OK: true,
		JoinMs: 300, KeyMs: 80, RTTMs: 1, JitterMs: 2, BitrateKbps: 1000, TargetKbps: 1000, FramesDecrypted: 100,
		CodeDigest: probe.CodeDigest("1111 2222 3333 4444 5555")}
	if edit != nil {
		edit(&r)
	}
	rep, err := probe.Sign(dev, r)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func postResult(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	res, err := http.Post(url+"/api/probe/results", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func openRO(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestForgedProbeResults (THREAT_MODEL.md, "Readiness"): the server stores a
// result only when the probe device of the side it names signed it; a
// forged one is refused over HTTP and nothing stored changes.
func TestForgedProbeResults(t *testing.T) {
	dir := t.TempDir()
	srv := servertest.Start(t, server.Config{DataDir: dir}, nil)
	db := &hostile{db: openRO(t, dir)}
	east := srv.Device(t, demo.East, "East Probe", role.Probe)
	west := srv.Device(t, demo.West, "West Probe", role.Probe)
	principal := srv.Device(t, demo.East, "East Principal", role.Principal)
	run, now := "probe-20261206t020000", time.Now()

	good := signedResult(t, east, demo.East, run, now, nil)
	if status, body := postResult(t, srv.URL(), good); status != http.StatusOK {
		t.Fatalf("genuine result: %d %s", status, body)
	}
	before := db.rows(t)
	var rep probe.Report
	if err := json.Unmarshal(good, &rep); err != nil {
		t.Fatal(err)
	}
	rep.Sig = trust.B64(make([]byte, 64))
	badSig, _ := json.Marshal(rep)
	for name, tc := range map[string]struct {
		body []byte
		want int
	}{
		"a bad signature":                  {badSig, http.StatusForbidden},
		"west's device reporting for east": {signedResult(t, west, demo.East, run, now, func(r *probe.Result) { r.Device = east.ID() }), http.StatusForbidden},
		"west's device under east's id":    {signedResult(t, west, demo.East, "probe-20261206t021500", now, func(r *probe.Result) { r.Device = east.ID() }), http.StatusForbidden},
		"a principal's device":             {signedResult(t, principal, demo.East, "probe-20261206t021500", now, nil), http.StatusForbidden},
		"east again, other figures":        {signedResult(t, east, demo.East, run, now, func(r *probe.Result) { r.JoinMs = 5 }), http.StatusConflict},
		"not JSON":                         {[]byte("{"), http.StatusBadRequest},
		"a loss over 1":                    {signedResult(t, east, demo.East, "probe-20261206t021500", now, func(r *probe.Result) { r.Loss = 2 }), http.StatusBadRequest},
	} {
		if status, body := postResult(t, srv.URL(), tc.body); status != tc.want {
			t.Errorf("%s: %d %s, want %d", name, status, body, tc.want)
		}
		if after := db.rows(t); !slices.Equal(before, after) {
			t.Fatalf("%s: the store changed", name)
		}
	}
	// The same report again is answered, not stored twice.
	if status, body := postResult(t, srv.URL(), good); status != http.StatusOK || !strings.Contains(body, rep.Body) {
		t.Errorf("the same report again: %d %s", status, body)
	}
	if after := db.rows(t); !slices.Equal(before, after) {
		t.Fatal("the same report again changed the store")
	}
}

// TestProbeRetention: the retention deletes the probe results started
// before it, and no other row.
func TestProbeRetention(t *testing.T) {
	dir := t.TempDir()
	srv := servertest.Start(t, server.Config{DataDir: dir, ProbeRetention: 24 * time.Hour}, nil)
	db := &hostile{db: openRO(t, dir)}
	east := srv.Device(t, demo.East, "East Probe", role.Probe)
	west := srv.Device(t, demo.West, "West Probe", role.Probe)
	now := time.Now()
	for i, age := range []time.Duration{72 * time.Hour, 25 * time.Hour, 23 * time.Hour, time.Minute} {
		run := fmt.Sprintf("probe-run%d", i)
		for side, dev := range map[string]*trust.Device{demo.East: east, demo.West: west} {
			if status, body := postResult(t, srv.URL(), signedResult(t, dev, side, run, now.Add(-age), nil)); status != http.StatusOK {
				t.Fatalf("%s %s: %d %s", run, side, status, body)
			}
		}
	}
	before := db.rows(t)
	n, err := srv.Readiness().Retain(context.Background())
	if err != nil || n != 4 {
		t.Fatalf("Retain = %d, %v; want the 4 results of the 2 runs over 24 h", n, err)
	}
	after := db.rows(t)
	var gone []string
	for _, r := range before {
		if !slices.Contains(after, r) {
			gone = append(gone, r)
		}
	}
	if len(gone) != 4 || len(after) != len(before)-4 {
		t.Fatalf("rows gone %q", gone)
	}
	for _, r := range gone {
		if !strings.HasPrefix(r, "probe_results[") || !(strings.Contains(r, "probe-run0") || strings.Contains(r, "probe-run1")) {
			t.Errorf("retention deleted %q", r)
		}
	}
}

// hook is a loopback webhook receiver: it keeps every event it is sent.
type hook struct {
	mu     sync.Mutex
	events []readiness.Event
	fail   atomic.Int32 // answer 500 to this many requests first
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.fail.Add(-1) >= 0 {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	var e readiness.Event
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *hook) got() []readiness.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// TestProbeAlerts: two probes through the real path keep the line green; a
// server-side fault dropping east's media turns it down, and the webhook
// (a loopback receiver that fails its first delivery, so that the retry
// counts) gets that exactly once; recovery fires once more. The metrics
// follow.
func TestProbeAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("three test calls through real Pion endpoints")
	}
	h := &hook{}
	h.fail.Store(1)
	recv := httptest.NewServer(h)
	t.Cleanup(recv.Close)
	var dropEast atomic.Bool
	srv := servertest.Start(t, server.Config{
		Webhooks: []string{recv.URL + "/hotline"}, WebhookBackoff: 50 * time.Millisecond, MetricsListen: "127.0.0.1:0",
		// Only the fault may change the state: no figure of a loaded
		// machine (join time, jitter, a lost packet) makes the line degraded.
		ProbeThresholds: probe.Thresholds{MaxLoss: 1, MaxRTTMs: 1e9, MaxJitterMs: 1e9, MaxJoinMs: 1e12, MinBitrate: 0},
		DropMedia:       func(side string) bool { return side == demo.East && dropEast.Load() },
	}, nil)
	devs := map[string]*trust.Device{
		demo.East: srv.Device(t, demo.East, "East Probe", role.Probe),
		demo.West: srv.Device(t, demo.West, "West Probe", role.Probe),
	}
	// meet bounds the wait for the other probe's first frame: the default
	// (30 s) for healthy runs, whatever the machine's load; short when east's
	// media is dropped, since west then waits for all of it.
	runBoth := func(run string, meet time.Duration) map[string]prober.Outcome {
		var mu sync.Mutex
		out := map[string]prober.Outcome{}
		var wg sync.WaitGroup
		for side, dev := range devs {
			wg.Go(func() {
				o, err := prober.Run(t.Context(), prober.Config{Server: srv.URL(), Line: demo.Line, Device: dev, Run: run,
					Window: 2 * time.Second, MeetTimeout: meet})
				if err != nil {
					t.Errorf("%s %s: %v", run, side, err)
				}
				mu.Lock()
				out[side] = o
				mu.Unlock()
			})
		}
		wg.Wait()
		return out
	}
	state := func() probe.Verdict {
		v, err := srv.Readiness().Verdict(context.Background(), demo.Line)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	for side, o := range runBoth("probe-alerts-1", 0) {
		if !o.Result.OK || !o.CodeMatch {
			t.Fatalf("healthy run, %s: %+v", side, o)
		}
	}
	if v := state(); v.State != probe.Green {
		t.Fatalf("after a healthy run: %+v", v)
	}

	dropEast.Store(true)
	out := runBoth("probe-alerts-2", 6*time.Second)
	dropEast.Store(false)
	if o := out[demo.West]; o.Result.OK || !strings.Contains(o.Result.Reason, "east") {
		t.Errorf("west with east's media dropped: %+v", o.Result)
	}
	if v := state(); v.State != probe.Down || !strings.Contains(v.Reason, "west:") {
		t.Fatalf("with east's media dropped: %+v", v)
	}
	servertest.Eventually(t, "the down alert", func() (bool, string) {
		return len(h.got()) == 1, fmt.Sprintf("%d events", len(h.got()))
	})

	for side, o := range runBoth("probe-alerts-3", 0) {
		if !o.Result.OK {
			t.Fatalf("recovered run, %s: %+v", side, o.Result)
		}
	}
	servertest.Eventually(t, "the recovery alert", func() (bool, string) {
		return len(h.got()) == 2, fmt.Sprintf("%d events", len(h.got()))
	})
	ev := h.got()
	if e := ev[0]; e.Type != "readiness" || e.Line != demo.Line || e.From != probe.Green || e.To != probe.Down || e.Run != "probe-alerts-2" || e.Reason == "" {
		t.Errorf("first alert %+v", e)
	}
	if e := ev[1]; e.From != probe.Down || e.To != probe.Green || e.Run != "probe-alerts-3" {
		t.Errorf("second alert %+v", e)
	}
	res, err := http.Get(srv.MetricsURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		metrics.NameProbeState + `{line="demo",state="green"} 1`,
		metrics.NameProbeState + `{line="demo",state="down"} 0`,
		metrics.NameProbeResults + `{line="demo",ok="false",side="west"} 1`,
		metrics.NameProbeResults + `{line="demo",ok="true",side="east"} 3`,
		metrics.NameProbeAlerts + `{outcome="delivered"} 2`,
		metrics.NameProbeJoin + `{line="demo",side="east"}`,
		metrics.NameProbeRTT + `{line="demo",side="west"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Nothing more came: one alert per transition.
	if n := len(h.got()); n != 2 {
		t.Errorf("%d alerts, want 2", n)
	}
}
