package main

import (
	"flag"
	"fmt"
	"net"
	"strings"

	"hotline/internal/server"
)

// defaultMetricsListen keeps the Prometheus endpoint on loopback: its
// gauges (live calls, participants) tell whoever reads them whether a line
// is in use, so it is never on the public listener, and it leaves the
// machine only if the operator names another address.
const defaultMetricsListen = "127.0.0.1:9464"

// metricsFlag declares --metrics-listen on fs (serve and demo).
func metricsFlag(fs *flag.FlagSet, cfg *server.Config) {
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", defaultMetricsListen,
		"serve Prometheus /metrics on this address, apart from the public listener (\"\": not at all)")
}

// checkMetricsListen refuses an address that is not IP:port before
// anything is started or written.
func checkMetricsListen(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics-listen %q: %w", addr, err)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("--metrics-listen %q: host must be an IP address", addr)
	}
	return nil
}

// metricsNote is what the first line of serve and demo says about
// metrics: "metrics on HOST:PORT" (plain HTTP, GET /metrics), an address
// as for the media socket, not a link (load.StartProcess reads it).
func metricsNote(srv *server.Server) string {
	if u := srv.MetricsURL(); u != "" {
		return "metrics on " + strings.TrimPrefix(u, "http://")
	}
	return "no metrics listener"
}
