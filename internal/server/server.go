// Package server assembles a hotline server from its parts: the store, the
// media engine, the call registry and the HTTP routes. cmd/hotline and the
// integration tests start servers through it, so both run the same wiring.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"hotline/internal/booking"
	"hotline/internal/call"
	"hotline/internal/certs"
	"hotline/internal/enrol"
	"hotline/internal/httpapi"
	"hotline/internal/limit"
	"hotline/internal/metrics"
	"hotline/internal/peer"
	"hotline/internal/probe"
	"hotline/internal/protocol"
	"hotline/internal/revocation"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// Config is a server's settings. The zero value of each field is its default.
type Config struct {
	Listen   string // HTTP address; default DefaultListen
	DataDir  string // default DefaultDataDir
	UDPPort  int    // the one media port; 0: the system picks
	PublicIP string // announced instead of the host address (NAT 1:1)
	// TCPPort carries media for clients whose network drops UDP: ICE over
	// TCP, TURN over TCP and (with TURNCertificate) TURN over TLS, told
	// apart by their first bytes. 0: the system picks.
	TCPPort int
	// TURNPort, when not 0, serves TURN on a port of its own as well, over
	// UDP, TCP and (with TURNCertificate) TLS.
	TURNPort int
	// TURNCertificate is the certificate of TURN over TLS; nil: the
	// HTTPS one (TLSCert, reloaded with it), or without TLS no TURN over
	// TLS.
	TURNCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	MaxParticipants int // per call; default 16, at most protocol.MaxParticipants
	// MetricsListen is the address of the Prometheus listener (/metrics),
	// apart from the public one: live call and participant counts tell
	// anyone who can read them whether a line is in use. "": none.
	MetricsListen string
	// EmptyCallGrace is how long a live call stays open with nobody in it
	// before it closes and its booked call ends (0: call.DefaultEmptyGrace,
	// a minute): everyone dropping at once (a network blip, a server
	// restart) must not end the talks.
	EmptyCallGrace time.Duration
	// AnswerTimeout: how long a client may take to answer an offer before
	// its session ends (0: peer.DefaultAnswerTimeout).
	AnswerTimeout  time.Duration
	AllowedOrigins []string
	// LocalOrigins lists, per line, the origins of local client pages
	// (`hotline open` on a participant's machine, e.g.
	// http://127.0.0.1:8790) that may use the API and signalling for that
	// line only (httpapi.LocalOrigins).
	LocalOrigins httpapi.LocalOrigins
	// TLSCert and TLSKey are PEM files (the leaf first, then any
	// intermediates; the key alone): the server then speaks HTTPS only, and
	// reads the files again when they change (internal/certs). Empty: plain
	// HTTP, which Start refuses on a non-loopback address unless
	// InsecureHTTP.
	TLSCert, TLSKey string
	// InsecureHTTP allows plain HTTP on a non-loopback address, for a
	// TLS-terminating proxy in front.
	InsecureHTTP bool
	// Limits bound connections, requests and enrolment (limits.go).
	Limits Limits
	// Hosts are the DNS names the server answers to in the Host header
	// (default: localhost and the certificate's names; IP addresses are
	// always answered to). A request naming another host gets 421.
	Hosts []string
	// DemoAuthorities sign demo enrolments (hotline demo only: a real
	// server never holds an authority's private key).
	DemoAuthorities []*trust.Authority
	// Webhooks are the URLs the readiness alerts are POSTed to (line
	// degraded or down, and recovered); WebhookBackoff the first pause
	// between retries (0: alert.DefaultBackoff).
	Webhooks       []string
	WebhookBackoff time.Duration
	// ProbeRetention: readiness probe results started longer ago are
	// deleted (0: readiness.DefaultRetention).
	ProbeRetention time.Duration
	// ProbeThresholds are where a probe's figure makes the line degraded
	// (zero: probe.DefaultThresholds).
	ProbeThresholds probe.Thresholds
	// DropMedia is a test fault (nil in production): while it returns
	// true for a side, the media of that side's publishers is dropped as
	// it arrives (peer.SessionConfig.DropMedia).
	DropMedia func(side string) bool
	// OpeningMinute is how long one booked minute of a public opening
	// lasts in the live call (0: a minute). A test fault, for tests that
	// run a booked opening through to its automatic close in seconds.
	OpeningMinute time.Duration
}

// ErrConfig: a Config value is out of bounds.
var ErrConfig = errors.New("server: invalid configuration")

// Defaults.
const (
	DefaultListen  = "127.0.0.1:8080"
	DefaultDataDir = "hotline-data"
	// DefaultTCPPort is hotline serve's --tcp-port: the same number as
	// the UDP media port, so that a firewall opens "8443, UDP and TCP".
	DefaultTCPPort = 8443
)

// ErrPlainHTTP refuses plain HTTP off loopback: browsers give a page served
// that way neither the camera nor WebCrypto, and the signalling would carry
// credentials in the clear.
var ErrPlainHTTP = errors.New("server: refusing plain HTTP on a non-loopback address")

// checkTransport applies the rule: HTTPS with both files, or plain HTTP on
// loopback, or plain HTTP anywhere when the operator says a proxy in front
// terminates TLS. ip is nil for "all interfaces".
func checkTransport(cfg Config, ip net.IP) error {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("server: --tls-cert and --tls-key go together")
	}
	if cfg.TLSCert != "" || cfg.InsecureHTTP || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("%w %q: give --tls-cert FILE --tls-key FILE (hotline cert init makes a pair for a trial), "+
		"or --insecure-http if a proxy in front terminates TLS", ErrPlainHTTP, cfg.Listen)
}

// Server is a running hotline server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ln     *limit.Listener
	scheme string // http or https
	http   *http.Server
	api    *httpapi.API
	engine *peer.Engine
	fw     *firewall
	reg    *call.Registry
	store  *store.Store
	unlock func() // releases the data folder
	life   *lifecycle
	ready  *readinessParts
	served chan error

	metrics *metricsServer // nil without Config.MetricsListen

	closeOnce sync.Once
	closeErr  error
}

// prepare applies the defaults and checks what can be checked before
// anything is opened or written; it returns the listening IP (nil: all
// interfaces) and, with a certificate, the TLS configuration serving it.
func prepare(cfg *Config, log *slog.Logger) (net.IP, *tls.Config, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.MaxParticipants < 0 || cfg.MaxParticipants > protocol.MaxParticipants {
		return nil, nil, fmt.Errorf("%w: %d participants per call, at most %d (a roster must fit in one message)", ErrConfig, cfg.MaxParticipants, protocol.MaxParticipants)
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("server: listen address %q: %w", cfg.Listen, err)
	}
	var ip net.IP
	if host != "" {
		if host == "localhost" {
			ip = net.IPv4(127, 0, 0, 1)
		} else if ip = net.ParseIP(host); ip == nil {
			return nil, nil, fmt.Errorf("server: listen address %q: host must be an IP address", cfg.Listen)
		}
	}
	if err := checkTransport(*cfg, ip); err != nil {
		return nil, nil, err
	}
	if err := checkMetricsListen(*cfg); err != nil {
		return nil, nil, err
	}
	if err := cfg.LocalOrigins.Check(); err != nil {
		return nil, nil, fmt.Errorf("%w: local origins: %w", ErrConfig, err)
	}
	if cfg.Hosts, err = hostNames(*cfg); err != nil {
		return nil, nil, err
	}
	if cfg.TLSCert == "" {
		return ip, nil, nil
	}
	r, err := certs.NewReloader(cfg.TLSCert, cfg.TLSKey, 0, log)
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	return ip, r.ServerConfig(), nil
}

// Start opens the store and the sockets and begins serving. It returns once
// the server accepts connections.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	ip, tlsConfig, err := prepare(&cfg, log)
	if err != nil {
		return nil, err
	}

	lim := cfg.Limits.withDefaults()
	if tlsConfig != nil && cfg.TURNCertificate == nil {
		// TURN over TLS with the HTTPS certificate, reloaded with it.
		cfg.TURNCertificate = tlsConfig.GetCertificate
	}
	// Sockets first: a port in use or a bad address must fail before the
	// data folder is created or touched.
	// undo closes what is open so far, newest first, on a failed start.
	var undo []func()
	fail := func(err error) (*Server, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}
	raw, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	ln := limit.NewListener(raw, limit.ListenerConfig{
		MaxConns: lim.MaxConns, MaxPerAddress: lim.MaxConnsPerAddress, Log: log})
	undo = append(undo, func() { ln.Close() })
	mln, err := listenMetrics(cfg.MetricsListen)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { mln.Close() })
	fw, err := openFirewallPorts(cfg, ip, log)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { fw.close() })
	engine, err := peer.NewEngine(peer.EngineConfig{ListenIP: ip, UDPPort: cfg.UDPPort, PublicIP: cfg.PublicIP, ICETCP: fw.iceListener()}, log)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { engine.Close() })
	if err := fw.startRelay(engine.UDPAddr().(*net.UDPAddr), log); err != nil {
		return fail(err)
	}
	// The server holds its data folder: a second server, or a restore,
	// on the same folder is refused while it runs.
	unlock, err := store.Lock(cfg.DataDir)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, unlock)
	st, err := store.Open(cfg.DataDir, log)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { st.Close() })
	if n, err := st.CloseOpenAttendance(ctx); err != nil {
		return fail(err)
	} else if n > 0 {
		log.Warn("closed attendance left open by an unclean stop", "count", n)
	}
	reg := call.NewRegistry(call.Config{MaxMembers: cfg.MaxParticipants, EmptyGrace: cfg.EmptyCallGrace})
	m := metrics.New(reg)
	ln.SetObserver(m)
	m.OpenConns(ln.Open)
	book := booking.New(st)
	ready, err := startReadiness(cfg, st, m, log)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, ready.close)
	life := startLifecycle(reg, st, book, m, log)
	if err := resumeLive(ctx, st, reg, openingMinute(cfg), log); err != nil {
		reg.Close()
		life.close()
		return fail(err)
	}
	revs, err := revocation.New(ctx, st, func(line string, lists []protocol.Credential, devices []string) {
		if n := reg.Revoke(line, lists, devices); n > 0 {
			log.Warn("revoked devices taken out of live calls", "line", line, "members", n)
		}
	})
	if err != nil {
		reg.Close()
		life.close()
		return fail(err)
	}
	api := httpapi.New(httpapi.Config{
		Engine: engine, Registry: reg, Log: log, Metrics: m,
		AllowedOrigins: cfg.AllowedOrigins, LocalOrigins: cfg.LocalOrigins, AnswerTimeout: cfg.AnswerTimeout,
		Gate:       &gate{store: st, booking: book, revoked: revs.Revoked, now: time.Now, minute: openingMinute(cfg)},
		Revocation: revs,
		Enrol:      enrol.New(st, cfg.DemoAuthorities, lim.PendingTTL),
		Booking:    book, Record: st,
		ICEServers: func(host string) ([]protocol.ICEServer, func()) {
			return fw.iceServers(ip, host)
		},
		JoinTimeout: lim.JoinTimeout, WriteTimeout: lim.WriteTimeout, Hosts: cfg.Hosts, PublicIP: cfg.PublicIP,
		EnrolLimit: limit.NewRate(lim.EnrolEvery, lim.EnrolBurst, maxRateKeys),
		Readiness:  ready.svc, DropMedia: cfg.DropMedia,
	})
	s := &Server{
		cfg: cfg, log: log, ln: ln, scheme: "http", api: api, engine: engine, fw: fw, reg: reg, store: st, life: life, unlock: unlock, ready: ready,
		http: &http.Server{
			Handler:           api,
			ReadHeaderTimeout: min(10*time.Second, lim.ReadTimeout),
			ReadTimeout:       lim.ReadTimeout, // headers and body
			IdleTimeout:       lim.IdleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
			TLSConfig:         tlsConfig,
		},
		served: make(chan error, 1),
	}
	if tlsConfig != nil {
		s.scheme = "https"
		go func() { s.served <- s.http.ServeTLS(ln, "", "") }()
	} else {
		go func() { s.served <- s.http.Serve(ln) }()
	}
	s.metrics = serveMetrics(mln, m, log, s.readinessPages)
	log.Info("hotline serving", "http", s.URL(), "media_udp", engine.UDPAddr().String(), "media_tcp", fw.tcp.Addr().String(), "data", cfg.DataDir,
		"hosts", cfg.Hosts, "max_conns", lim.MaxConns, "max_conns_per_address", lim.MaxConnsPerAddress)
	return s, nil
}

// URL is the server's base URL, e.g. http://127.0.0.1:8080 or, with TLS,
// https://10.77.1.1:8443.
func (s *Server) URL() string { return s.scheme + "://" + s.ln.Addr().String() }

// MetricsURL is the base URL of the metrics listener (its /metrics is the
// Prometheus endpoint), or "" if the server has none.
func (s *Server) MetricsURL() string { return s.metrics.url() }

// MediaAddr is the media UDP socket's address.
func (s *Server) MediaAddr() net.Addr { return s.engine.UDPAddr() }

// MediaTCPAddr is the TCP port for clients without UDP: ICE over TCP and
// TURN over TCP or TLS.
func (s *Server) MediaTCPAddr() net.Addr { return s.fw.tcp.Addr() }

// Registry exposes the live calls (for tests and metrics).
func (s *Server) Registry() *call.Registry { return s.reg }

// Store exposes the database (for tests and the history view).
func (s *Server) Store() *store.Store { return s.store }

// Close ends every session, stops serving and closes the database. It
// waits for every session and goroutine of the server to end. A booked call
// live at that moment stays live (the next start resumes it). Closing
// twice returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.reg.Close()
	// Shutdown first stops new HTTP connections; WebSockets are hijacked, so
	// they are ended by the API's own shutdown.
	errHTTP := s.http.Shutdown(ctx)
	errAPI := s.api.Shutdown(ctx)
	if err := <-s.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errHTTP = errors.Join(errHTTP, err)
	}
	errHTTP = errors.Join(errHTTP, s.metrics.shutdown(ctx))
	errRelay := s.fw.close()
	errEngine := s.engine.Close()
	// Every session has left its call: the lifecycle records the last
	// departures before the database closes.
	s.life.close()
	s.ready.close()
	errStore := s.store.Close()
	s.unlock()
	return errors.Join(errHTTP, errAPI, errRelay, errEngine, errStore)
}
