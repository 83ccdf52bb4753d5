package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"hotline/internal/client"
	"hotline/internal/metrics"
	"hotline/internal/peer"
	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// scrape fetches /metrics from the server's metrics listener over HTTP and
// parses the text format.
func scrape(t *testing.T, srv *servertest.Server) map[string]*dto.MetricFamily {
	t.Helper()
	if srv.MetricsURL() == "" {
		t.Fatal("the server has no metrics listener")
	}
	resp, err := http.Get(srv.MetricsURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %s %s", resp.Status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value reads the one series of a counter or gauge.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("%s: %v", name, f)
	}
	m := f.GetMetric()[0]
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// What the server says it forwarded agrees with what two endpoints counted.
func TestMetricsAgreeWithTheEndpoints(t *testing.T) {
	srv := startServer(t, server.Config{MetricsListen: "127.0.0.1:0"})
	defer srv.Close()
	a := join(t, srv, "m", "alice", nil)
	b := join(t, srv, "m", "bob", nil)
	av := []string{protocol.KindAudio, protocol.KindVideo}
	// Two seconds of media each way, so that the few packets around the
	// start (see below) are small beside the whole.
	servertest.Eventually(t, "alice receives bob", flowing(a, "alice", []string{"bob"}, av, 60))
	servertest.Eventually(t, "bob receives alice", flowing(b, "bob", []string{"alice"}, av, 60))

	// The live gauges and join times while both are in the call.
	fams := scrape(t, srv)
	if got := value(t, fams, metrics.NameParticipants); got != 2 {
		t.Errorf("%s = %v, want 2", metrics.NameParticipants, got)
	}
	if got := value(t, fams, metrics.NameCalls); got != 1 {
		t.Errorf("%s = %v, want 1", metrics.NameCalls, got)
	}
	// One join time per (participant, remote track): each receives two.
	jf := fams[metrics.NameJoin]
	if jf == nil || len(jf.GetMetric()) != 1 {
		t.Fatalf("%s missing", metrics.NameJoin)
	}
	if n := jf.GetMetric()[0].GetHistogram().GetSampleCount(); n < 4 {
		t.Errorf("%s counts %d joins to first media, want at least 4", metrics.NameJoin, n)
	}
	// Each step of each participant's join, once per participant.
	steps := map[string]uint64{}
	for _, m := range fams[metrics.NameJoinStep].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "step" {
				steps[l.GetValue()] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	for _, step := range peer.JoinSteps {
		if steps[step] != 2 {
			t.Errorf("%s{step=%q} counts %d, want 2 (one per participant): %v", metrics.NameJoinStep, step, steps[step], steps)
		}
	}

	// Then both leave, so that nothing is in flight when the endpoints'
	// counts and the server's counter are compared: no stall of a loaded
	// machine between reading one and scraping the other can skew them.
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for _, c := range []*client.Client{a, b} {
		if err := c.Leave(ctx); err != nil {
			t.Fatal(err)
		}
	}
	servertest.Eventually(t, "both sessions over", func() (bool, string) {
		n := srv.Registry().Participants()
		return n == 0, fmt.Sprintf("%d participants", n)
	})
	var received, late uint64
	for _, c := range []*client.Client{a, b} {
		for _, ts := range c.Stats().Tracks {
			received += ts.Packets
			late += ts.Late
		}
	}
	forwarded := value(t, scrape(t, srv), metrics.NameForwardedPackets)
	t.Logf("forwarded %v, endpoints received %d (%d late)", forwarded, received, late)

	// The counter counts each packet the read loop wrote to a subscriber,
	// once; NACK answers from the cache are not counted. An endpoint counts
	// both, so retransmitted and duplicated packets are taken out, and they
	// are all "late" (at or behind the highest sequence number seen, since a
	// NACK only asks for a gap behind it). Hence, exactly:
	if float64(received-late) > forwarded {
		t.Errorf("endpoints received %d packets in order, more than the %v forwarded", received-late, forwarded)
	}
	// The other way, the counter may run ahead only by packets lost on the
	// way (none on loopback) or in flight when a subscriber closed its
	// connection: milliseconds of traffic against seconds. 5 % would still
	// catch a counter that counted retransmissions, or counted twice.
	if forwarded > 1.05*float64(received) {
		t.Errorf("forwarded %v, more than 1.05 × the %d packets received", forwarded, received)
	}
	if t.Failed() {
		for _, c := range []*client.Client{a, b} {
			t.Logf("%+v", c.Stats().Tracks)
		}
	}
}

// /metrics is served on the metrics listener only: on the public listener
// it is the web client's 404, so nobody who can reach the line's address
// learns whether a call is live. Without Config.MetricsListen there is no
// metrics listener at all.
func TestMetricsOnlyOnTheirListener(t *testing.T) {
	srv := startServer(t, server.Config{MetricsListen: "127.0.0.1:0"})
	defer srv.Close()
	if srv.MetricsURL() == srv.URL() || srv.MetricsURL() == "" {
		t.Fatalf("metrics listener %q beside the public %q", srv.MetricsURL(), srv.URL())
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(body)
	}
	if code, body := get(srv.URL() + "/metrics"); code != http.StatusNotFound || strings.Contains(body, metrics.NameCalls) {
		t.Errorf("public GET /metrics: %d, want 404 without figures (%d bytes)", code, len(body))
	}
	if code, body := get(srv.MetricsURL() + "/metrics"); code != http.StatusOK || !strings.Contains(body, metrics.NameCalls) {
		t.Errorf("metrics listener GET /metrics: %d, want 200 with %s", code, metrics.NameCalls)
	}
	for _, path := range []string{"/", "/healthz", "/ws", "/api/session"} {
		if code, _ := get(srv.MetricsURL() + path); code != http.StatusNotFound {
			t.Errorf("metrics listener GET %s: %d, want 404 (it serves /metrics only)", path, code)
		}
	}

	// A metrics address in use fails the start before the data folder is made.
	dir := filepath.Join(t.TempDir(), "data")
	busy := strings.TrimPrefix(srv.MetricsURL(), "http://")
	if s2, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", MetricsListen: busy, UDPPort: 0, DataDir: dir}, nil); err == nil {
		s2.Close()
		t.Errorf("started with the metrics address %s in use", busy)
	} else if !strings.Contains(err.Error(), "metrics listen") {
		t.Errorf("metrics address in use: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data folder created despite the failed start: %v", err)
	}

	// The listener speaks plain HTTP: off loopback only where plain HTTP is
	// allowed (InsecureHTTP), refused before anything is opened.
	if s2, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", MetricsListen: "10.77.0.1:9464", DataDir: dir}, nil); !errors.Is(err, server.ErrPlainHTTP) {
		if s2 != nil {
			s2.Close()
		}
		t.Errorf("metrics on a non-loopback address: %v, want ErrPlainHTTP", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data folder created despite the refused metrics address: %v", err)
	}

	plain := startServer(t, server.Config{})
	defer plain.Close()
	if u := plain.MetricsURL(); u != "" {
		t.Errorf("a server without MetricsListen has a metrics listener at %q", u)
	}
}
