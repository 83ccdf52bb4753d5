package metrics

import "github.com/prometheus/client_golang/prometheus"

// The readiness probes' metrics (issue 14), per line and side: the figures
// of the latest stored result of each side, results counted by outcome,
// the line's state and the alerts' deliveries.
const (
	NameProbeResults = "hotline_probe_results_total"  // labels line, side, ok
	NameProbeJoin    = "hotline_probe_join_seconds"   // labels line, side: latest
	NameProbeRTT     = "hotline_probe_rtt_seconds"    // labels line, side: latest
	NameProbeJitter  = "hotline_probe_jitter_seconds" // labels line, side: latest
	NameProbeLoss    = "hotline_probe_loss_ratio"     // labels line, side: latest
	NameProbeBitrate = "hotline_probe_bitrate_kbps"   // labels line, side: latest
	NameProbeState   = "hotline_probe_line_state"     // labels line, state: 1 for the current state, 0 for the others
	NameProbeAlerts  = "hotline_probe_alerts_total"   // label outcome: delivered, failed, dropped
)

// ProbeStates are the values of the state label (internal/probe's states).
var ProbeStates = []string{"unknown", "green", "degraded", "down"}

// Probes are the readiness probes' collectors, registered with the server's.
type Probes struct {
	results                          *prometheus.CounterVec
	join, rtt, jitter, loss, bitrate *prometheus.GaugeVec
	state                            *prometheus.GaugeVec
	alerts                           *prometheus.CounterVec
}

// Probes returns the probe collectors, registering them on first use.
func (m *Metrics) Probes() *Probes {
	m.probesOnce.Do(func() {
		gauge := func(name, help string) *prometheus.GaugeVec {
			return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"line", "side"})
		}
		p := &Probes{
			results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameProbeResults,
				Help: "Probe results stored, by line, side and whether the test call succeeded."}, []string{"line", "side", "ok"}),
			join:    gauge(NameProbeJoin, "Latest probe result: join to the other side's first decrypted frame."),
			rtt:     gauge(NameProbeRTT, "Latest probe result: round trip to the server (RTCP)."),
			jitter:  gauge(NameProbeJitter, "Latest probe result: interarrival jitter of the other side's media."),
			loss:    gauge(NameProbeLoss, "Latest probe result: fraction of the other side's packets lost."),
			bitrate: gauge(NameProbeBitrate, "Latest probe result: bitrate received from the other side, kbit/s."),
			state: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameProbeState,
				Help: "The line's readiness: 1 for its current state (unknown, green, degraded, down), 0 for the others."}, []string{"line", "state"}),
			alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameProbeAlerts,
				Help: "Readiness alerts by how their delivery ended: delivered, failed (every retry), dropped (queue full)."}, []string{"outcome"}),
		}
		m.reg.MustRegister(p.results, p.join, p.rtt, p.jitter, p.loss, p.bitrate, p.state, p.alerts)
		m.probes = p
	})
	return m.probes
}

// Result records one stored result's figures (seconds, a ratio, kbit/s).
func (p *Probes) Result(line, side string, ok bool, join, rtt, jitter, loss, kbps float64) {
	p.results.WithLabelValues(line, side, map[bool]string{true: "true", false: "false"}[ok]).Inc()
	if !ok {
		return
	}
	p.join.WithLabelValues(line, side).Set(join)
	p.rtt.WithLabelValues(line, side).Set(rtt)
	p.jitter.WithLabelValues(line, side).Set(jitter)
	p.loss.WithLabelValues(line, side).Set(loss)
	p.bitrate.WithLabelValues(line, side).Set(kbps)
}

// State sets the line's state.
func (p *Probes) State(line, state string) {
	for _, s := range ProbeStates {
		v := 0.0
		if s == state {
			v = 1
		}
		p.state.WithLabelValues(line, s).Set(v)
	}
}

// Alert counts one alert delivery's outcome.
func (p *Probes) Alert(outcome string) { p.alerts.WithLabelValues(outcome).Inc() }
