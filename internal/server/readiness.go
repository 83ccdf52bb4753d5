package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"hotline/internal/alert"
	"hotline/internal/metrics"
	"hotline/internal/probe"
	"hotline/internal/readiness"
	"hotline/internal/store"
)

// retentionEvery is how often results past the retention are deleted.
const retentionEvery = time.Hour

// readinessParts are the readiness probes' server side: the service that
// takes results, the webhooks' notifier and the retention loop.
type readinessParts struct {
	svc    *readiness.Service
	alerts *alert.Notifier
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startReadiness builds the service on st, alerting cfg.Webhooks and
// reporting to m, and starts deleting results past cfg.ProbeRetention.
func startReadiness(cfg Config, st *store.Store, m *metrics.Metrics, log *slog.Logger) (*readinessParts, error) {
	p := m.Probes()
	n, err := alert.New(alert.Config{URLs: cfg.Webhooks, Log: log, Observer: p.Alert, Backoff: cfg.WebhookBackoff})
	if err != nil {
		return nil, err
	}
	svc := readiness.New(readiness.Config{
		Store: st, Retention: cfg.ProbeRetention, Thresholds: cfg.ProbeThresholds, Alerts: n, Observer: probeMetrics{p}, Log: log,
		Stored:  func(line string, report []byte, _ probe.Result) { recordProbe(st, log, line, report) },
		Changed: func(ev readiness.Event) { recordAlert(st, log, ev) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	r := &readinessParts{svc: svc, alerts: n, cancel: cancel}
	r.wg.Go(func() { svc.KeepRetaining(ctx, retentionEvery) })
	return r, nil
}

// close stops the retention loop and the alerts (nil-safe).
func (r *readinessParts) close() {
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	r.alerts.Close()
}

// probeMetrics adapts the metrics to readiness.Observer.
type probeMetrics struct{ p *metrics.Probes }

func (o probeMetrics) ProbeResult(line string, r probe.Result) {
	ms := func(v float64) float64 { return v / 1000 }
	o.p.Result(line, r.Side, r.OK, ms(float64(r.JoinMs)), ms(r.RTTMs), ms(r.JitterMs), r.Loss, r.BitrateKbps)
}

func (o probeMetrics) ProbeState(line string, s probe.State) { o.p.State(line, string(s)) }

// readinessPages adds the operators' readiness page to the metrics
// listener's routes: like the metrics, it tells whoever reads it about the
// line, so it stays off the public listener.
func (s *Server) readinessPages(mux *http.ServeMux) {
	mux.Handle("GET /readiness", s.ready.svc.Page())
}

// Readiness is the readiness probes' service (the page, tests).
func (s *Server) Readiness() *readiness.Service { return s.ready.svc }
