package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	"hotline/internal/certs"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"hotline/internal/metrics"
)

// maxMetricsBytes bounds a scrape: the server's whole /metrics is a few
// tens of KiB; anything much larger is not a hotline server.
const maxMetricsBytes = 4 << 20

// The standard collectors' names (internal/metrics registers both).
const (
	nameRSS        = "process_resident_memory_bytes"
	nameGoroutines = "go_goroutines"
)

// ErrMetrics: the server's /metrics is unreachable or lacks what the bench
// reads.
var ErrMetrics = errors.New("load: server metrics")

// Sample is one scrape of the server's counters.
type Sample struct {
	At               time.Time // midway through the scrape, on the local clock
	CPUSeconds       float64   // process_cpu_seconds_total: the whole server process
	RSSBytes         float64   // process_resident_memory_bytes (0 where the platform has none)
	ForwardedPackets float64
	ForwardedBytes   float64
	Participants     float64
	Calls            float64
	Residence        Histogram // seconds
	// From the standard process and Go collectors; zero when the server
	// does not export them (the soak requires them, the bench does not).
	Goroutines float64 // go_goroutines
}

// Scraper reads a server's /metrics. It owns its connections: Close
// releases them, so that a finished bench leaves no goroutine behind.
type Scraper struct {
	url    string
	client *http.Client
}

// NewScraper scrapes the metrics listener at base (http(s)://host:port; the
// server's --metrics-listen address, not its public one), trusting
// tlsConfig's roots for https (nil: the system roots).
func NewScraper(base string, tlsConfig *tls.Config) *Scraper {
	return &Scraper{
		url:    strings.TrimSuffix(base, "/") + "/metrics",
		client: certs.HTTPClient(tlsConfig, 10*time.Second),
	}
}

// Close closes idle connections.
func (s *Scraper) Close() { s.client.CloseIdleConnections() }

// Scrape fetches and parses the server's metrics.
func (s *Scraper) Scrape(ctx context.Context) (Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return Sample{}, fmt.Errorf("%w: %w", ErrMetrics, err)
	}
	// The plain text format: promhttp would otherwise be free to pick
	// another one it supports.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return Sample{}, fmt.Errorf("%w: %w", ErrMetrics, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Sample{}, fmt.Errorf("%w: GET %s: %s", ErrMetrics, s.url, resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		return Sample{}, fmt.Errorf("%w: GET %s: content type %q, want text/plain", ErrMetrics, s.url, resp.Header.Get("Content-Type"))
	}
	smp, err := ParseMetrics(io.LimitReader(resp.Body, maxMetricsBytes))
	if err != nil {
		return Sample{}, err
	}
	end := time.Now()
	smp.At = start.Add(end.Sub(start) / 2)
	return smp, nil
}

// ParseMetrics reads the Prometheus text format and picks out what the
// bench needs; At is left zero.
func ParseMetrics(r io.Reader) (Sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Sample{}, fmt.Errorf("%w: parse: %w", ErrMetrics, err)
	}
	var s Sample
	var errs []error
	value := func(name string, dst *float64) {
		v, err := scalar(fams[name], name)
		errs = append(errs, err)
		*dst = v
	}
	value(metrics.NameProcessCPU, &s.CPUSeconds)
	value(metrics.NameForwardedPackets, &s.ForwardedPackets)
	value(metrics.NameForwardedBytes, &s.ForwardedBytes)
	value(metrics.NameParticipants, &s.Participants)
	value(metrics.NameCalls, &s.Calls)
	for name, dst := range map[string]*float64{nameRSS: &s.RSSBytes, nameGoroutines: &s.Goroutines} {
		if fams[name] != nil {
			value(name, dst)
		}
	}
	s.Residence, err = histogram(fams[metrics.NameResidence], metrics.NameResidence)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return Sample{}, err
	}
	return s, nil
}

// single returns the one unlabelled series of a family.
func single(f *dto.MetricFamily, name string) (*dto.Metric, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: %s missing (is this a hotline server?)", ErrMetrics, name)
	}
	if len(f.GetMetric()) != 1 {
		return nil, fmt.Errorf("%w: %s has %d series, want 1", ErrMetrics, name, len(f.GetMetric()))
	}
	return f.GetMetric()[0], nil
}

// scalar reads a counter, gauge or untyped value.
func scalar(f *dto.MetricFamily, name string) (float64, error) {
	m, err := single(f, name)
	if err != nil {
		return 0, err
	}
	var v float64
	switch {
	case m.Counter != nil:
		v = m.GetCounter().GetValue()
	case m.Gauge != nil:
		v = m.GetGauge().GetValue()
	case m.Untyped != nil:
		v = m.GetUntyped().GetValue()
	default:
		return 0, fmt.Errorf("%w: %s is a %s, want a number", ErrMetrics, name, f.GetType())
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("%w: %s = %g", ErrMetrics, name, v)
	}
	return v, nil
}

// histogram reads a histogram's buckets, adding the +Inf bucket if the
// exposition left it implicit (its count is the sample count).
func histogram(f *dto.MetricFamily, name string) (Histogram, error) {
	m, err := single(f, name)
	if err != nil {
		return Histogram{}, err
	}
	ph := m.GetHistogram()
	if ph == nil {
		return Histogram{}, fmt.Errorf("%w: %s is a %s, want a histogram", ErrMetrics, name, f.GetType())
	}
	var h Histogram
	last := math.Inf(-1)
	var prev uint64
	for _, b := range ph.GetBucket() {
		ub, c := b.GetUpperBound(), b.GetCumulativeCount()
		if !(ub > last) || c < prev {
			return Histogram{}, fmt.Errorf("%w: %s: buckets not ascending at le=%g", ErrMetrics, name, ub)
		}
		h.Bounds = append(h.Bounds, ub)
		h.Counts = append(h.Counts, c)
		last, prev = ub, c
	}
	if !math.IsInf(last, 1) {
		if ph.GetSampleCount() < prev {
			return Histogram{}, fmt.Errorf("%w: %s: count %d below its buckets' %d", ErrMetrics, name, ph.GetSampleCount(), prev)
		}
		h.Bounds = append(h.Bounds, math.Inf(1))
		h.Counts = append(h.Counts, ph.GetSampleCount())
	}
	return h, nil
}
