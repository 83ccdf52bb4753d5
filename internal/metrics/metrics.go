// Package metrics is the server's Prometheus instrumentation: what the media
// engine forwards and how long packets stay in it, how long joining takes,
// and how many calls and participants are live. GET /metrics on the
// server's metrics listener (never the public one) serves it.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names; docs/PERFORMANCE.md and `hotline bench` rely on them.
const (
	NameParticipants     = "hotline_participants"
	NameCalls            = "hotline_calls"
	NameReceivedPackets  = "hotline_received_packets_total"
	NameReceivedBytes    = "hotline_received_bytes_total"
	NameForwardedPackets = "hotline_forwarded_packets_total"
	NameForwardedBytes   = "hotline_forwarded_bytes_total"
	NameResidence        = "hotline_sfu_residence_seconds"
	NameJoin             = "hotline_join_seconds"
	NameJoinStep         = "hotline_join_step_seconds" // label step: peer.JoinSteps
	NameProcessCPU       = "process_cpu_seconds_total" // from the standard process collector
	// The bounds of docs/THREAT_MODEL.md, "Resource bounds".
	NameConnRefused  = "hotline_connections_refused_total" // label reason: total, per_address
	NameAcceptErrors = "hotline_accept_errors_total"
	NameConnOpen     = "hotline_connections_open"
	NameJoinTimeouts = "hotline_join_timeouts_total"
	NameRateLimited  = "hotline_rate_limited_total" // label route
	NameJoins        = "hotline_joins_total"
	NameCallsClosed  = "hotline_calls_closed_total" // label why: empty or ended
	NameEventsMissed = "hotline_call_events_missed_total"
)

// ResidenceBuckets resolve the sub-millisecond range finely: the target is
// p99 ≤ 1 ms, so the quantiles computed from these buckets must be good to
// a few microseconds there.
var ResidenceBuckets = []float64{
	2e-6, 5e-6, 10e-6, 15e-6, 20e-6, 30e-6, 40e-6, 50e-6, 75e-6,
	100e-6, 150e-6, 200e-6, 300e-6, 400e-6, 500e-6, 750e-6,
	1e-3, 1.5e-3, 2e-3, 3e-3, 5e-3, 7.5e-3, 10e-3, 20e-3, 50e-3, 100e-3,
}

// JoinBuckets cover a join from tens of milliseconds (loopback) to seconds.
var JoinBuckets = []float64{
	0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10,
}

// Source reports the live counts, read at scrape time.
type Source interface {
	Participants() int
	CallCount() int
}

// Metrics holds one server's collectors, in a registry of its own (no
// globals, so that servers in one test process do not share counters).
type Metrics struct {
	reg         *prometheus.Registry
	recvPackets prometheus.Counter
	recvBytes   prometheus.Counter
	fwdPackets  prometheus.Counter
	fwdBytes    prometheus.Counter
	residence   prometheus.Histogram
	join        prometheus.Histogram
	joinStep    *prometheus.HistogramVec
	refused     *prometheus.CounterVec
	acceptErrs  prometheus.Counter
	joinTimeout prometheus.Counter
	limited     *prometheus.CounterVec
	open        func() int // open connections, once the listener is known
	joins       prometheus.Counter
	closed      *prometheus.CounterVec
	missed      prometheus.Counter
	probesOnce  sync.Once // probe.go
	probes      *Probes
}

// New registers the collectors; src gives the live gauges.
func New(src Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		recvPackets: prometheus.NewCounter(prometheus.CounterOpts{Name: NameReceivedPackets,
			Help: "RTP packets read from publishers."}),
		recvBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: NameReceivedBytes,
			Help: "RTP bytes (header and payload) read from publishers."}),
		fwdPackets: prometheus.NewCounter(prometheus.CounterOpts{Name: NameForwardedPackets,
			Help: "RTP packets written to subscribers (one per packet per subscriber)."}),
		fwdBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: NameForwardedBytes,
			Help: "RTP bytes (header and payload) written to subscribers."}),
		residence: prometheus.NewHistogram(prometheus.HistogramOpts{Name: NameResidence,
			Help:    "Time from reading a packet from its publisher to its write to one subscriber returning (fan-out, SRTP protection, UDP send).",
			Buckets: ResidenceBuckets}),
		join: prometheus.NewHistogram(prometheus.HistogramOpts{Name: NameJoin,
			Help:    "Time from a participant's join message to the first packet of each remote track written to it.",
			Buckets: JoinBuckets}),
		joinStep: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameJoinStep,
			Help:    "Time from a participant's join message to each step of its join (label step: answer, ice_connected, dtls_connected, first_key, first_packet).",
			Buckets: JoinBuckets}, []string{"step"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameConnRefused,
			Help: "TCP connections closed on accept because the server or their source address held the most allowed."}, []string{"reason"}),
		acceptErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: NameAcceptErrors,
			Help: "Failed accepts (e.g. too many open files), retried after a pause."}),
		joinTimeout: prometheus.NewCounter(prometheus.CounterOpts{Name: NameJoinTimeouts,
			Help: "WebSockets closed because they did not complete a join in time."}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameRateLimited,
			Help: "HTTP requests refused with 429 by a per-address rate limit."}, []string{"route"}),
		joins: prometheus.NewCounter(prometheus.CounterOpts{Name: NameJoins,
			Help: "Participants admitted to a live call (lobby and bench included)."}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameCallsClosed,
			Help: "Live calls closed, by why: empty (nobody in it for the grace) or ended (End call)."}, []string{"why"}),
		missed: prometheus.NewCounter(prometheus.CounterOpts{Name: NameEventsMissed,
			Help: "Live call events the server's lifecycle lost because it fell behind (attendance or bookings may be stale)."}),
	}
	m.reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		m.refused, m.acceptErrs, m.joinTimeout, m.limited,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: NameConnOpen, Help: "TCP connections open on the HTTP listener."},
			func() float64 {
				if m.open == nil {
					return 0
				}
				return float64(m.open())
			}),
		m.recvPackets, m.recvBytes, m.fwdPackets, m.fwdBytes, m.residence, m.join, m.joinStep, m.joins, m.closed, m.missed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: NameParticipants, Help: "Participants in live calls."},
			func() float64 { return float64(src.Participants()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: NameCalls, Help: "Live calls."},
			func() float64 { return float64(src.CallCount()) }),
	)
	return m
}

// Received implements sfu.Observer.
func (m *Metrics) Received(bytes int) {
	m.recvPackets.Inc()
	m.recvBytes.Add(float64(bytes))
}

// Forwarded implements sfu.Observer.
func (m *Metrics) Forwarded(bytes int, residence time.Duration) {
	m.fwdPackets.Inc()
	m.fwdBytes.Add(float64(bytes))
	m.residence.Observe(residence.Seconds())
}

// FirstMedia records one join time: from the join message to the first
// packet of one remote track written to the participant.
func (m *Metrics) FirstMedia(sinceJoin time.Duration) {
	m.join.Observe(sinceJoin.Seconds())
}

// JoinStep records how long after its join message a participant reached
// step: one of internal/peer's JoinSteps (the first answer applied, ICE
// connected, the connection up, the first key relayed to it, the first
// media packet written to it).
func (m *Metrics) JoinStep(step string, sinceJoin time.Duration) {
	m.joinStep.WithLabelValues(step).Observe(sinceJoin.Seconds())
}

// ConnRefused implements limit.Observer.
func (m *Metrics) ConnRefused(reason string) { m.refused.WithLabelValues(reason).Inc() }

// AcceptError implements limit.Observer.
func (m *Metrics) AcceptError() { m.acceptErrs.Inc() }

// JoinTimedOut counts a WebSocket closed for not joining in time.
func (m *Metrics) JoinTimedOut() { m.joinTimeout.Inc() }

// RateLimited counts a request refused by a per-address rate limit.
func (m *Metrics) RateLimited(route string) { m.limited.WithLabelValues(route).Inc() }

// OpenConns sets where the open-connections gauge reads from; call it
// before serving.
func (m *Metrics) OpenConns(f func() int) { m.open = f }

// Joined counts a participant joining a live call.
func (m *Metrics) Joined() { m.joins.Inc() }

// Closed counts a live call closing, by why ("empty", "ended").
func (m *Metrics) Closed(why string) { m.closed.WithLabelValues(why).Inc() }

// Missed counts live call events the lifecycle lost.
func (m *Metrics) Missed(n int) { m.missed.Add(float64(n)) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
