// Package client is hotline's native endpoint: it joins a call over the
// signalling WebSocket (docs/PROTOCOL.md), answers the server's offers,
// publishes looped test media (internal/testmedia) and counts what it
// receives from RTP headers alone. `hotline join`, the integration tests and
// probes all drive the server through it.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"

	"hotline/internal/e2ee"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// Errors of this package; wrapped with context.
var (
	ErrConfig = errors.New("client: invalid configuration")
	ErrClosed = errors.New("client: closed")
)

// ErrEnded: the call was ended for everyone (docs/PROTOCOL.md, "End of a
// call"). Err returns it as an *EndedError, which says who ended it and why.
var ErrEnded = errors.New("the call has ended")

// EndedError is why the session ended when the call was ended for everyone.
type EndedError struct{ By, Reason string }

func (e *EndedError) Error() string {
	return fmt.Sprintf("%v: %s, by %s", ErrEnded, e.Reason, e.By)
}

func (e *EndedError) Unwrap() error { return ErrEnded }

// ErrEpochsExhausted ends a session whose sender used its last epoch
// (docs/PROTOCOL.md, "Epochs"): it stopped sending rather than reuse a KID.
// An Attendee then joins again: a new participant id gives a new sender
// tag, and so 65,536 fresh epochs.
var ErrEpochsExhausted = errors.New("client: the sender's epochs are exhausted; join again for fresh ones")

// ServerError is an "error" message from the server that made an operation
// fail (a refused join, for instance). Use errors.As to read the code.
type ServerError struct{ Msg protocol.ErrorMsg }

func (e *ServerError) Error() string {
	return fmt.Sprintf("server error %s: %s", e.Msg.Code, e.Msg.Message)
}

// Config describes one endpoint.
type Config struct {
	Server string // the server's base URL, http(s)://host:port; the WebSocket is at /ws
	// TLS is for an https server (wss:// signalling); nil: the system roots
	// (certs.ClientConfig builds it with a --ca file).
	TLS  *tls.Config
	Line string // the line the call belongs to
	Call string // call name
	// Device is the enrolled identity the endpoint joins with: its keys,
	// its credential (which gives its display name) and the line's pinned
	// authorities, against which every roster entry is verified.
	Device    *trust.Device
	Publish   bool // false: receive-only (a wall monitor)
	AudioOnly bool // publish the microphone only
	Cameras   int  // video tracks to publish: 0 means 1 unless AudioOnly
	Logger    *slog.Logger
	// Interpret publishes the microphone (the test tone) as this
	// language's interpretation channel, audio only (an interpreter's
	// device); Listen picks a language to hear besides the floor, or an
	// interpreter's relay source (interpret.go).
	Interpret, Listen string

	// PlainFrames sends and expects frames without SFrame encryption. It
	// exists only so that `hotline bench` can measure what encryption
	// costs; keys are still exchanged. The browser client has no such mode.
	PlainFrames bool
	// Networks restricts the transports ICE may use, for tests of
	// firewalls (TCP only, say); nil: UDP and TCP over IPv4 and IPv6.
	Networks []webrtc.NetworkType
	// RelayOnly makes ICE use the server's TURN relay alone (tests).
	RelayOnly bool
	// Taps, for tests: FrameHook rewrites each outgoing frame before it is
	// encrypted; EncryptedTap sees each incoming frame as it arrived
	// (reassembled, before decryption); DecryptedTap each decrypted frame.
	// MaxEpoch, for tests: the last SFrame epoch of a session (0: 65535,
	// all the KID holds). Past it the session ends with ErrEpochsExhausted
	// and an Attendee joins again, with a new sender tag and epochs afresh.
	MaxEpoch uint16

	// net, for tests: a virtual network (pion/transport vnet) for the
	// media instead of the host's.
	net transport.Net
	// handling, for tests: called on the handler goroutine before each
	// server message is handled (a test blocks it to stand for slow
	// handling).
	handling func(msg any)

	FrameHook    func(kind string, frame []byte) []byte
	EncryptedTap func(participant, kind string, frame []byte)
	DecryptedTap func(participant, kind string, frame []byte)
	// Frames, if set, is handed every frame decrypted, with its track and
	// timing (the press recorder writes them to files). It runs on the
	// track's reading goroutine and must return quickly.
	Frames func(Frame)
}

// maxErrors bounds the server errors a client remembers (a hostile or buggy
// server could send them forever).
const maxErrors = 64

// writeTimeout bounds one WebSocket write, so that a stalled server cannot
// block a Pion callback or the caller forever.
const writeTimeout = 10 * time.Second

// Client is one participant in a call. Its methods are safe for concurrent use.
type Client struct {
	cfg       Config
	keys      *e2ee.Manager
	log       *slog.Logger
	api       *webrtc.API
	net       *liveNet // the host's interfaces, read again before each offer
	pc        *webrtc.PeerConnection
	joinStart time.Time // when Join began; set before any goroutine starts

	// out sends one message to the server; the WebSocket writer in
	// production, a recorder in unit tests.
	out   func(ctx context.Context, msg any) error
	wsMu  sync.Mutex      // guards ws, which a resumption replaces
	ws    *websocket.Conn // the signalling socket
	wsURL string
	// server is the name the join proof signs: the URL's host[:port] as
	// dialled, in trust.ServerName form.
	server string

	ctx    context.Context // the client's lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the client starts
	done   chan struct{}  // closed by endSession when the signalling session ends
	ended  sync.Once

	held      atomic.Bool  // a socket is being joined: hold back other messages
	connected atomic.Bool  // the PeerConnection is connected: start sending media
	pcState   atomic.Int32 // the PeerConnection's latest webrtc.PeerConnectionState
	closeOnce sync.Once

	mu       sync.Mutex
	closed   bool
	id       string
	roster   []protocol.RosterEntry
	interp   interpretation  // the call's languages and mode, from the latest roster
	opening  time.Duration   // the booked public opening, from the latest roster
	endedBy  protocol.Ended  // the "ended" message, if the server sent one
	atJoin   map[string]bool // participant ids in the first roster: in the call when we joined
	errs     []protocol.ErrorMsg
	endErr   error                   // why the signalling session ended
	local    []*localTrack           // every local track ever published, in order
	remote   []*remoteTrack          // every received track, in order of appearance
	byMid    map[string]*remoteTrack // the active received tracks
	attached map[string]*localTrack  // mid → local track sent on it
	// ICE restarts asked for (ice.go)
	lastRestart time.Time
	restarts    int
	firstAsk    time.Time // the first restart request not yet answered by an offer
	lastOffer   time.Time
	resumes     int
	probed      bool // the socket was pinged in this outage of the media path

	// Owned by the signalling handler goroutine (offers and candidates are handled
	// there, in order): candidates that arrived before the first offer.
	pendingCandidates []webrtc.ICECandidateInit
	haveRemote        bool
	// deliver hands a message read during a handshake to its handler:
	// dispatch before the read loop runs, the handler's queue once it does.
	// Only the goroutine that reads the socket uses it.
	deliver func(msg any)
}

// tracksToPublish lists the tracks cfg asks for. Ids and sources follow
// PROTOCOL.md's examples: "mic"; "cam0" "camera", "cam1" "camera2", ...
func (cfg Config) tracksToPublish() []protocol.TrackInfo {
	if !cfg.Publish {
		return nil
	}
	ts := []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio, Source: "mic"}}
	if cfg.Interpret != "" {
		return []protocol.TrackInfo{channelInfo(cfg.Interpret)}
	}
	if cfg.AudioOnly {
		return ts
	}
	for i := range max(cfg.Cameras, 1) {
		ts = append(ts, cameraInfo(fmt.Sprintf("cam%d", i), cameraSource(i)))
	}
	return ts
}

func cameraSource(i int) string {
	if i == 0 {
		return "camera"
	}
	return fmt.Sprintf("camera%d", i+1)
}

func cameraInfo(id, source string) protocol.TrackInfo {
	return protocol.TrackInfo{ID: id, Kind: protocol.KindVideo, Source: source}
}

func (cfg Config) validate() error {
	if err := protocol.ValidID("call name", cfg.Call); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := protocol.ValidID("line name", cfg.Line); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.Device == nil || cfg.Device.Credential == nil {
		return fmt.Errorf("%w: no enrolled device (a credential is needed to join)", ErrConfig)
	}
	if cfg.Cameras < 0 || cfg.Cameras > protocol.MaxTracks-1 {
		return fmt.Errorf("%w: %d cameras, between 0 and %d allowed", ErrConfig, cfg.Cameras, protocol.MaxTracks-1)
	}
	if cfg.AudioOnly && cfg.Cameras > 0 {
		return fmt.Errorf("%w: audio-only with %d cameras", ErrConfig, cfg.Cameras)
	}
	return cfg.checkInterpretation()
}

// newClient builds a client and its PeerConnection, without signalling.
func newClient(cfg Config, loopback bool) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("call", cfg.Call)
	var nw transport.Net = cfg.net
	var live *liveNet
	if nw == nil {
		l, err := newLiveNet()
		if err != nil {
			return nil, err
		}
		nw, live = l, l
	}
	api, err := newAPI(loopback, cfg.Networks, nw, log)
	if err != nil {
		return nil, err
	}
	// ICE servers come with the welcome: see useICEServers.
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICETransportPolicy: policyOf(cfg)})
	if err != nil {
		return nil, fmt.Errorf("client: peer connection: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:      cfg,
		log:      log,
		api:      api,
		net:      live,
		pc:       pc,
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		out:      func(context.Context, any) error { return ErrClosed }, // until dial
		byMid:    make(map[string]*remoteTrack),
		attached: make(map[string]*localTrack),
	}
	pc.OnICECandidate(c.onLocalCandidate)
	pc.OnTrack(c.onTrack)
	pc.OnConnectionStateChange(c.onConnectionState)
	for _, ti := range cfg.tracksToPublish() {
		if err := c.addLocal(ti); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Join connects to the server, joins cfg.Call and returns once the server
// has welcomed the client. Media starts flowing when the server's first offer
// has been answered, which happens in the background.
func Join(ctx context.Context, cfg Config) (*Client, error) {
	start := time.Now()
	wsURL, host, err := signallingURL(cfg.Server)
	if err != nil {
		return nil, err
	}
	c, err := newClient(cfg, isLoopbackHost(host))
	if err != nil {
		return nil, err
	}
	c.joinStart = start
	keys, err := e2ee.New(e2ee.Config{Device: cfg.Device, Line: cfg.Line, Call: cfg.Call, Send: c.sendKey, MaxEpoch: cfg.MaxEpoch,
		Exhausted: c.epochsExhausted})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("client: %w", err)
	}
	c.keys = keys
	c.log = c.log.With("name", keys.Self().Name)
	c.wsURL = wsURL
	if u, err := url.Parse(wsURL); err == nil {
		c.server = trust.ServerName(u.Host, u.Scheme == "wss")
	}
	c.out = c.writeWS
	if err := c.handshake(ctx, ""); err != nil {
		c.Close()
		return nil, err
	}
	c.goStart(c.readLoop)
	c.goStart(c.watchICE)
	if cfg.Listen != "" {
		if err := c.Listen(ctx, cfg.Listen); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// goStart runs f in a goroutine that Close waits for, unless the client is
// already closed (then f never runs and it returns false). Pion callbacks
// start goroutines at any moment; this keeps them from racing with Close.
func (c *Client) goStart(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// Keys is the endpoint's end-to-end key state: verification code,
// forgeries, epochs, and the SFrame receiver (which a test may keep using
// after the client left, to show what a departed member can still decrypt).
func (c *Client) Keys() *e2ee.Manager { return c.keys }

// epochsExhausted ends the session once the sender has used its last
// epoch (the key manager has stopped it): the socket closes normally, as a
// leave, and the Attendee, seeing ErrEpochsExhausted, joins again.
func (c *Client) epochsExhausted() {
	c.log.Warn("the sender's epochs are exhausted; leaving to join again with fresh ones")
	c.endSession(ErrEpochsExhausted)
	c.goStart(func() {
		if ws := c.socket(); ws != nil {
			ws.Close(websocket.StatusNormalClosure, "epochs exhausted; joining again")
		}
	})
}

// sendKey sends one key message for the key manager.
func (c *Client) sendKey(k protocol.Key) {
	if err := c.out(c.ctx, k); err != nil {
		c.log.Debug("send key", "to", k.To, "err", err)
	}
}

// ID returns the participant id the server assigned.
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Opening is the public opening booked with the call, as the latest
// roster said (0: none): internal/opening runs it.
func (c *Client) Opening() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opening
}

// Roster returns the latest participant list the server sent.
func (c *Client) Roster() []protocol.RosterEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.roster)
}

// Errors returns the error messages the server sent, oldest first (at most
// the last 64).
func (c *Client) Errors() []protocol.ErrorMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errs)
}

// Done is closed when the signalling session ends: the server closed the
// WebSocket, it failed, or Close was called. Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the signalling session ended, or nil while it goes on or
// if it ended by Leave or Close.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endErr
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	remote := slices.Clone(c.remote)
	local := slices.Clone(c.local)
	c.mu.Unlock()
	var s Stats
	for _, r := range remote {
		s.Tracks = append(s.Tracks, r.snapshot())
	}
	for _, l := range local {
		s.Sent = append(s.Sent, l.snapshot())
	}
	return s
}

// Leave tells the server the client leaves, waits (within ctx) for the server
// to close the WebSocket, and closes the client.
func (c *Client) Leave(ctx context.Context) error {
	err := c.out(ctx, protocol.Leave{Type: protocol.TypeLeave})
	if err == nil {
		select {
		case <-c.done:
		case <-ctx.Done():
			err = fmt.Errorf("client: leave: %w", ctx.Err())
		}
	} else {
		err = fmt.Errorf("client: leave: %w", err)
	}
	return errors.Join(err, c.Close())
}

// Remove asks the server to remove another participant of the call
// (docs/PROTOCOL.md, "Removal"). The server answers a refusal with an error
// message (Errors), and a removal with the new roster.
func (c *Client) Remove(ctx context.Context, participant string) error {
	return c.act(ctx, protocol.TypeRemove, participant)
}

// Admit lets a participant of our side in from the lobby.
func (c *Client) Admit(ctx context.Context, participant string) error {
	return c.act(ctx, protocol.TypeAdmit, participant)
}

// CallIn brings an adviser of our side from the bench into the call.
func (c *Client) CallIn(ctx context.Context, participant string) error {
	return c.act(ctx, protocol.TypeCallIn, participant)
}

// SendOut sends an adviser of our side back to the bench.
func (c *Client) SendOut(ctx context.Context, participant string) error {
	return c.act(ctx, protocol.TypeSendOut, participant)
}

// act sends one participant action; refusals come back as error messages.
func (c *Client) act(ctx context.Context, typ, participant string) error {
	if err := c.out(ctx, protocol.ParticipantAction{Type: typ, Participant: participant}); err != nil {
		return fmt.Errorf("client: %s %s: %w", typ, participant, err)
	}
	return nil
}

// Close ends the client: the WebSocket, the PeerConnection and every
// goroutine the client started, which have all returned when Close returns.
// It is idempotent.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		if ws := c.socket(); ws != nil {
			// The close handshake first, while the read loop still reads:
			// it receives the server's close frame and returns.
			if werr := ws.Close(websocket.StatusNormalClosure, "bye"); werr != nil && !isClosedErr(werr) {
				c.log.Debug("websocket close", "err", werr)
			}
		}
		c.cancel() // stops the media writers
		// GracefulClose waits for Pion's own goroutines; it also makes the
		// track and RTCP readers return.
		if perr := c.pc.GracefulClose(); perr != nil {
			err = fmt.Errorf("client: close peer connection: %w", perr)
		}
		c.wg.Wait()
		if c.keys != nil {
			c.keys.Close()
		}
		c.endSession(nil) // in case no read loop ever ran
	})
	return err
}

// endSession records why the signalling session ended (nil: on purpose) and
// closes Done. Only the first call counts.
func (c *Client) endSession(err error) {
	c.ended.Do(func() {
		c.mu.Lock()
		c.endErr = err
		c.mu.Unlock()
		close(c.done)
	})
}

// isClosedErr reports errors that only say the WebSocket was already closed.
func isClosedErr(err error) bool {
	var ce websocket.CloseError
	return errors.As(err, &ce) || errors.Is(err, context.Canceled) || errors.Is(err, net.ErrClosed)
}

// openingOf is the booked public opening a roster states.
func openingOf(r *protocol.Roster) time.Duration {
	return time.Duration(r.Opening) * time.Millisecond
}
