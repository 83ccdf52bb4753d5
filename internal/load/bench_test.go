package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"hotline/internal/demo"
	"hotline/internal/load"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// A short bench against an in-process server (the test binary cannot
// re-exec itself as a server) gives sane figures and leaves nothing behind.
func TestBenchAgainstAServer(t *testing.T) {
	tier.Integration(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only stops a hung test
	defer cancel()
	srv := servertest.Start(t, server.Config{MetricsListen: "127.0.0.1:0"}, nil)
	var enrolled []string
	rep, err := load.Run(ctx, load.Config{
		Server:       srv.URL(),
		Metrics:      srv.MetricsURL(),
		Calls:        1,
		Participants: 3,
		Duration:     2 * time.Second,
		FloorBudget:  100 * time.Millisecond,
		Line:         demo.Line,
		Enrol: func(name string) (*trust.Device, error) {
			enrolled = append(enrolled, name) // Run enrols one endpoint after another
			return srv.Demo.EnrolDevice(demo.East, name)
		},
	})
	if cerr := srv.Close(); cerr != nil {
		t.Errorf("server close: %v", cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Steps) != 1 {
		t.Fatalf("%d steps", len(rep.Steps))
	}
	s := rep.Steps[0]
	t.Logf("%+v, floor %.3f µs", s, rep.FloorMicrosPerPkt)
	if s.Calls != 1 || s.Participants != 3 || s.Streams != 6 || !s.Pass {
		t.Errorf("shape: %+v", s)
	}
	// One device per endpoint (the server refuses a device twice in a call).
	if len(enrolled) != 3 {
		t.Errorf("enrolled %q, want one device per participant", enrolled)
	}
	if rep.E2EE || rep.SFrame != nil {
		t.Errorf("encryption cost measured without E2EE: %+v", rep.SFrame)
	}
	// Sane, not fast: this process is server and endpoints at once, maybe
	// under the race detector, so nothing here bounds a time.
	for name, v := range map[string]float64{
		"forwarded_pps": s.ForwardedPPS, "forwarded_mbps": s.ForwardedMbps,
		"cpu_us_per_packet": s.CPUMicrosPerPkt, "server_cpu_percent": s.ServerCPUPercent,
		"residence_p50_us": s.ResidenceP50us, "join_p50_ms": s.JoinP50ms,
		"oneway_p50_ms": s.OneWayP50ms, "floor_us_per_packet": rep.FloorMicrosPerPkt,
		"cpu_ratio_to_floor": s.CPURatioToFloor,
	} {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if s.ResidenceP50us > s.ResidenceP99us || s.ResidenceP99us > s.ResidenceP999us || s.JoinP50ms > s.JoinP95ms || s.OneWayP50ms > s.OneWayP99ms {
		t.Errorf("quantiles out of order: %+v", s)
	}
	if s.LossRatio < 0 || s.LossRatio > 1 {
		t.Errorf("loss ratio %v", s.LossRatio)
	}

	// The JSON line carries every key the issue names.
	var out bytes.Buffer
	if err := rep.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("JSON is not one line: %q", out.String())
	}
	var obj map[string]any
	if err := json.Unmarshal(out.Bytes(), &obj); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"forwarded_pps", "forwarded_mbps", "cpu_us_per_packet", "floor_us_per_packet",
		"residence_p50_us", "residence_p99_us", "residence_p999_us", "join_p50_ms", "join_p95_ms", "loss_ratio",
		"calls", "participants", "streams", "cpu_ratio_to_floor", "oneway_p50_ms", "oneway_p99_ms",
		"server_cpu_percent", "duration_s"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out.String())
		}
	}
	if _, ok := obj["capacity_calls"]; ok {
		t.Errorf("capacity without a ramp: %s", out.String())
	}
	if obj["e2ee"] != false {
		t.Errorf("e2ee is not false without E2EE: %s", out.String())
	}
	if _, ok := obj["sframe"]; ok {
		t.Errorf("SFrame cost without E2EE: %s", out.String())
	}
	if err := rep.WriteTable(io.Discard); err != nil {
		t.Error(err)
	}

	// Every endpoint closed, the server too: back to the goroutines of before.
	servertest.NoLeak(t, before)
}

func TestBenchRefusesBadConfigs(t *testing.T) {
	enrol := func(string) (*trust.Device, error) { return nil, errors.New("not reached") }
	good := load.Config{Server: "http://127.0.0.1:1", Metrics: "http://127.0.0.1:2", Calls: 1, Participants: 2, Duration: time.Second, Line: demo.Line, Enrol: enrol}
	if err := good.Validate(); err != nil {
		t.Fatalf("the good config: %v", err)
	}
	cases := map[string]func(*load.Config){
		"no line":           func(c *load.Config) { c.Line = "" },
		"no enrolment":      func(c *load.Config) { c.Enrol = nil },
		"no server":         func(c *load.Config) { c.Server = "" },
		"remote server":     func(c *load.Config) { c.Server = "http://192.0.2.1:8080" },
		"named host":        func(c *load.Config) { c.Server = "http://example.org" },
		"ws scheme":         func(c *load.Config) { c.Server = "ws://127.0.0.1:1" },
		"no metrics":        func(c *load.Config) { c.Metrics = "" },
		"remote metrics":    func(c *load.Config) { c.Metrics = "http://192.0.2.1:9464" },
		"no calls":          func(c *load.Config) { c.Calls = 0 },
		"too many calls":    func(c *load.Config) { c.Calls = load.MaxCalls + 1 },
		"alone":             func(c *load.Config) { c.Participants = 1 },
		"crowd":             func(c *load.Config) { c.Participants = 17 },
		"short":             func(c *load.Config) { c.Duration = 999 * time.Millisecond },
		"long":              func(c *load.Config) { c.Duration = 2 * time.Hour },
		"negative floor":    func(c *load.Config) { c.FloorBudget = -1 },
		"ramp without step": func(c *load.Config) { c.Ramp, c.MaxCalls, c.MaxP99 = true, 5, time.Millisecond },
		"ramp max below start": func(c *load.Config) {
			c.Ramp, c.Step, c.Calls, c.MaxCalls, c.MaxP99 = true, 1, 3, 2, time.Millisecond
		},
		"ramp loss above 1": func(c *load.Config) {
			c.Ramp, c.Step, c.MaxCalls, c.MaxLoss, c.MaxP99 = true, 1, 5, 1.5, time.Millisecond
		},
		"ramp no p99": func(c *load.Config) { c.Ramp, c.Step, c.MaxCalls = true, 1, 5 },
	}
	for what, mod := range cases {
		c := good
		mod(&c)
		if _, err := load.Run(context.Background(), c); !errors.Is(err, load.ErrConfig) {
			t.Errorf("%s: %v", what, err)
		}
	}
}
