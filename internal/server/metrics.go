package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"hotline/internal/metrics"
)

// The metrics listener serves only GET /metrics, on its own address
// (Config.MetricsListen, loopback by default in cmd/hotline): the live
// call and participant gauges tell whoever reads them whether a line is in
// use right now, so they stay off the public listener.

// checkMetricsListen refuses a metrics address off loopback unless plain
// HTTP is allowed there (Config.InsecureHTTP: a private network or a proxy
// in front): the listener speaks plain HTTP, and what it says is as
// sensitive as the reason it is kept off the public listener.
func checkMetricsListen(cfg Config) error {
	if cfg.MetricsListen == "" || cfg.InsecureHTTP {
		return nil
	}
	host, _, err := net.SplitHostPort(cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("server: metrics address %q: %w", cfg.MetricsListen, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: metrics on %q: serve them on loopback, or give --insecure-http if that network is private", ErrPlainHTTP, cfg.MetricsListen)
}

// listenMetrics opens the metrics listener; with addr "" there is none and
// the returned listener is nil (its Close is then a no-op).
func listenMetrics(addr string) (*metricsListener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: metrics listen: %w", err)
	}
	return &metricsListener{ln}, nil
}

type metricsListener struct{ net.Listener }

// Close closes the listener; nil-safe, for Start's error paths.
func (l *metricsListener) Close() error {
	if l == nil {
		return nil
	}
	return l.Listener.Close()
}

type metricsServer struct {
	ln     net.Listener
	http   *http.Server
	served chan error
}

// serveMetrics serves m on ln; nil for no listener.
func serveMetrics(ln *metricsListener, m *metrics.Metrics, log *slog.Logger, pages func(*http.ServeMux)) *metricsServer {
	if ln == nil {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if pages != nil {
		pages(mux) // the operators' pages (readiness.go)
	}
	ms := &metricsServer{ln: ln.Listener, served: make(chan error, 1), http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}}
	go func() { ms.served <- ms.http.Serve(ln.Listener) }()
	return ms
}

func (ms *metricsServer) url() string {
	if ms == nil {
		return ""
	}
	return "http://" + ms.ln.Addr().String()
}

// shutdown stops serving and waits for the serving goroutine.
func (ms *metricsServer) shutdown(ctx context.Context) error {
	if ms == nil {
		return nil
	}
	err := ms.http.Shutdown(ctx)
	if serr := <-ms.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
