// Package httpapi is hotline's HTTP surface: the health check, the
// signalling WebSocket and the embedded web client, all behind the same
// security headers.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"hotline/internal/booking"
	"hotline/internal/call"
	"hotline/internal/enrol"
	"hotline/internal/limit"
	"hotline/internal/metrics"
	"hotline/internal/peer"
	"hotline/internal/protocol"
	"hotline/internal/readiness"
	"hotline/internal/revocation"
	"hotline/internal/web"
)

// Keepalive: a client that does not answer pings for this long is dropped.
const (
	pingInterval = 15 * time.Second
	pingTimeout  = 30 * time.Second
)

// Config is what the HTTP layer serves.
type Config struct {
	Engine   *peer.Engine
	Registry *call.Registry
	Log      *slog.Logger
	Metrics  *metrics.Metrics // told of media; served on the server's own metrics listener, never here
	// AnswerTimeout bounds how long a client may take to answer an offer
	// (0: peer.DefaultAnswerTimeout).
	AnswerTimeout time.Duration
	// AllowedOrigins are extra Origin host patterns accepted on /ws besides
	// the request's own host (same-origin is always accepted).
	AllowedOrigins []string
	// LocalOrigins lists, per line, the origins of local client pages
	// (`hotline open`) that may use /api/ and /ws for that line (origins.go).
	LocalOrigins LocalOrigins
	// Gate admits joins (required: without it nobody can join).
	Gate peer.Gatekeeper
	// Enrol serves the enrolment routes under /api/ (optional).
	Enrol *enrol.Service
	// Booking serves the API sessions and the calls API (optional).
	Booking *booking.Service
	// Revocation holds the lines' revocation lists: it serves their route
	// and refuses revoked devices' API sign-ins and sessions (optional).
	Revocation *revocation.Service
	// Record keeps the lines' call records (optional; with Booking).
	Record RecordBook
	// JoinTimeout closes a WebSocket that has not joined this long after
	// it opened (0: peer.DefaultJoinTimeout).
	JoinTimeout time.Duration
	// WriteTimeout bounds one message's write to a session's client
	// (0: peer.DefaultWriteTimeout).
	WriteTimeout time.Duration
	// Hosts are the names the server answers to (checkHost); empty: any.
	Hosts []string
	// PublicIP is an address the server is reached at besides its own
	// (NAT 1:1); join proofs may name it (serverName).
	PublicIP string
	// EnrolLimit bounds the requests for an officer per source address
	// (nil: no bound).
	EnrolLimit *limit.Rate
	// ICEServers issues one signalling session's TURN relay entries; host
	// is the host the client reached the server by (the request's Host),
	// for the relay's URLs. Optional: without it welcome has none.
	ICEServers func(host string) ([]protocol.ICEServer, func())
	// Readiness takes the probes' results (optional: without it, no
	// /api/probe routes).
	Readiness *readiness.Service
	// DropMedia is peer.SessionConfig's test fault (nil in production).
	DropMedia func(side string) bool
}

// API holds the routes and the signalling sessions they started.
type API struct {
	cfg    Config
	mux    *http.ServeMux
	ctx    context.Context // cancelled at shutdown: ends every signalling session
	cancel context.CancelFunc
	// sessions counts the signalling sessions (WebSockets) running; mu
	// and closing keep an Add from racing Shutdown's Wait (a session that
	// comes in as the server shuts down is refused, not counted late)
	sessions sync.WaitGroup
	mu       sync.Mutex
	closing  bool
	keys     *keyring // API challenges and sessions
	// directory: the joined signalling sessions, for "resume"
	directory *peer.Directory
	// statements bounds the signed statements (witness, heads, readouts)
	// each device adds to the call record (record.go)
	statements *limit.Rate
}

// New builds the routes.
func New(cfg Config) *API {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &API{cfg: cfg, mux: http.NewServeMux(), ctx: ctx, cancel: cancel, keys: newKeyring(), directory: peer.NewDirectory()}
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.HandleFunc("GET /ws", a.ws)
	// Challenges serve both sign-ins: a device's and an officer's.
	a.mux.HandleFunc("POST /api/session/challenge", a.sessionChallenge)
	a.enrolRoutes()
	a.callRoutes()
	a.segmentRoutes()
	if cfg.Revocation != nil {
		a.revocationRoutes()
	}
	a.probeRoutes()
	a.recordRoutes()
	a.mux.Handle("/", web.Handler())
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	web.SecurityHeaders(checkHost(a.cfg.Hosts, a.crossOrigin(a.mux))).ServeHTTP(w, r)
}

// Shutdown ends every session and waits for them (bounded by ctx).
func (a *API) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	a.cancel()
	done := make(chan struct{})
	go func() { a.sessions.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// enter counts a new signalling session, unless the server is shutting
// down.
func (a *API) enter() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.sessions.Add(1)
	return true
}

func (a *API) ws(w http.ResponseWriter, r *http.Request) {
	if !a.enter() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer a.sessions.Done()
	// Same-origin only (plus configured origins): a page elsewhere must
	// not drive a user's browser into a call. A listed local client page
	// (origins.go) passes here and meets originGate at its join.
	opts := &websocket.AcceptOptions{OriginPatterns: a.cfg.AllowedOrigins}
	gate := a.cfg.Gate
	if origin := crossOriginOf(r); origin != "" {
		opts.InsecureSkipVerify = true
		gate = originGate{Gatekeeper: gate, origins: a.cfg.LocalOrigins, origin: origin}
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		a.cfg.Log.Debug("websocket accept", "err", err)
		return // Accept has written the HTTP error
	}
	// A message over the bound closes the socket with 1009 (docs/PROTOCOL.md).
	c.SetReadLimit(protocol.MaxMessageBytes)
	conn := newWSConn(c)
	stopPing := conn.keepalive(a.ctx)
	defer stopPing()
	sc := peer.SessionConfig{Engine: a.cfg.Engine, Registry: a.cfg.Registry, Gate: gate, Server: a.serverName(r), Log: a.cfg.Log,
		AnswerTimeout: a.cfg.AnswerTimeout, JoinTimeout: a.cfg.JoinTimeout, WriteTimeout: a.cfg.WriteTimeout,
		Directory: a.directory, DropMedia: a.cfg.DropMedia}
	if a.cfg.Metrics != nil {
		sc.Observer = a.cfg.Metrics
	}
	if issue := a.cfg.ICEServers; issue != nil {
		host := r.Host
		sc.ICEServers = func() ([]protocol.ICEServer, func()) { return issue(host) }
	}
	peer.Serve(a.ctx, conn, sc)
}

// wsConn adapts a WebSocket to peer.Conn.
type wsConn struct {
	c *websocket.Conn
}

func newWSConn(c *websocket.Conn) *wsConn { return &wsConn{c: c} }

var errBinary = errors.New("binary frames are not part of the protocol")

func (w *wsConn) Read(ctx context.Context) ([]byte, error) {
	typ, data, err := w.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		w.c.Close(websocket.StatusUnsupportedData, errBinary.Error())
		return nil, errBinary
	}
	return data, nil
}

func (w *wsConn) Write(ctx context.Context, data []byte) error {
	return w.c.Write(ctx, websocket.MessageText, data)
}

func (w *wsConn) Close(reason peer.CloseReason, text string) error {
	code := websocket.StatusNormalClosure
	switch reason {
	case peer.ClosePolicy:
		code = websocket.StatusPolicyViolation
	case peer.CloseGoingAway:
		code = websocket.StatusGoingAway
	case peer.CloseError:
		code = websocket.StatusInternalError
	case peer.CloseEnded:
		code = websocket.StatusCode(protocol.CloseEnded)
	}
	if len(text) > 120 { // a close frame's reason must fit in 123 bytes
		text = text[:120]
	}
	return w.c.Close(code, text)
}

// keepalive pings the client; a client that stops answering is closed, which
// ends its session's Read.
func (w *wsConn) keepalive(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(pingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(ctx, pingTimeout)
				err := w.c.Ping(pctx)
				pcancel()
				if err != nil && ctx.Err() == nil {
					w.c.Close(websocket.StatusPolicyViolation, "ping timeout")
					return
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
