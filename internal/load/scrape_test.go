package load

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hotline/internal/metrics"
)

// A hand-written exposition, as promhttp writes it (HELP and TYPE lines,
// other metrics around, the +Inf bucket).
const exposition = `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP hotline_calls Live calls.
# TYPE hotline_calls gauge
hotline_calls 2
# HELP hotline_forwarded_bytes_total RTP bytes written to subscribers.
# TYPE hotline_forwarded_bytes_total counter
hotline_forwarded_bytes_total 1.2e+06
# HELP hotline_forwarded_packets_total RTP packets written to subscribers.
# TYPE hotline_forwarded_packets_total counter
hotline_forwarded_packets_total 1000
# HELP hotline_participants Participants in live calls.
# TYPE hotline_participants gauge
hotline_participants 6
# HELP hotline_sfu_residence_seconds Residence.
# TYPE hotline_sfu_residence_seconds histogram
hotline_sfu_residence_seconds_bucket{le="1e-05"} 100
hotline_sfu_residence_seconds_bucket{le="2e-05"} 900
hotline_sfu_residence_seconds_bucket{le="5e-05"} 1000
hotline_sfu_residence_seconds_bucket{le="+Inf"} 1000
hotline_sfu_residence_seconds_sum 0.015
hotline_sfu_residence_seconds_count 1000
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.34
`

func TestParseMetrics(t *testing.T) {
	s, err := ParseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUSeconds != 12.34 || s.ForwardedPackets != 1000 || s.ForwardedBytes != 1.2e6 || s.Participants != 6 || s.Calls != 2 {
		t.Errorf("sample %+v", s)
	}
	h := s.Residence
	if len(h.Bounds) != 4 || h.Bounds[1] != 20e-6 || h.Counts[1] != 900 || h.Count() != 1000 {
		t.Errorf("residence %+v", h)
	}
	// rank 500 is 400 of 800 into (10, 20] µs.
	if got := h.Quantile(0.5); !near(got, 15e-6) {
		t.Errorf("p50 %v", got)
	}
}

func TestParseMetricsRefusals(t *testing.T) {
	cases := map[string]string{
		"not the text format": "{\"json\": true}\n",
		"a metric missing":    strings.Replace(exposition, "process_cpu_seconds_total 12.34", "", 1),
		"a negative counter":  strings.Replace(exposition, "hotline_forwarded_packets_total 1000", "hotline_forwarded_packets_total -1", 1),
		"a labelled series twice": strings.Replace(exposition, "hotline_calls 2",
			"hotline_calls{x=\"a\"} 2\nhotline_calls{x=\"b\"} 1", 1),
		"a histogram that is not one": strings.Replace(exposition, "# TYPE hotline_sfu_residence_seconds histogram",
			"# TYPE hotline_sfu_residence_seconds summary", 1),
	}
	for what, text := range cases {
		if _, err := ParseMetrics(strings.NewReader(text)); !errors.Is(err, ErrMetrics) {
			t.Errorf("%s: %v", what, err)
		}
	}
}

type fakeSource struct{}

func (fakeSource) Participants() int { return 4 }
func (fakeSource) CallCount() int    { return 1 }

// The scraper reads what the server's own metrics package serves.
func TestScrapeTheServersExposition(t *testing.T) {
	m := metrics.New(fakeSource{})
	for range 10 {
		m.Forwarded(1000, 30*time.Microsecond)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /other/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	sc := NewScraper(srv.URL+"/", nil)
	defer sc.Close()
	s, err := sc.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.ForwardedPackets != 10 || s.ForwardedBytes != 10000 || s.Participants != 4 || s.Calls != 1 || s.At.IsZero() {
		t.Errorf("sample %+v", s)
	}
	if s.Residence.Count() != 10 || s.Residence.Quantile(0.5) <= 20e-6 || s.Residence.Quantile(0.5) > 30e-6 {
		t.Errorf("residence %+v, p50 %v", s.Residence, s.Residence.Quantile(0.5))
	}

	for _, base := range []string{srv.URL + "/nothing", srv.URL + "/other"} {
		bad := NewScraper(base, nil)
		if _, err := bad.Scrape(context.Background()); !errors.Is(err, ErrMetrics) {
			t.Errorf("%s: %v", base, err)
		}
		bad.Close()
	}
}
