package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coder/websocket"

	"hotline/internal/certs"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// dial opens the signalling WebSocket. Reads are bounded by the protocol's
// message limit: a larger message closes the connection (status 1009) rather
// than being buffered.
func (c *Client) dial(ctx context.Context, wsURL string) error {
	hc := certs.HTTPClient(c.cfg.TLS, 0)
	defer hc.CloseIdleConnections()
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return fmt.Errorf("client: connect to %s: %w", wsURL, certs.Explain(err))
	}
	conn.SetReadLimit(protocol.MaxMessageBytes)
	c.wsMu.Lock()
	c.ws = conn
	c.wsMu.Unlock()
	return nil
}

// socket returns the current signalling socket (nil before dial).
func (c *Client) socket() *websocket.Conn {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	return c.ws
}

// handshake opens a socket and joins on it: challenge, join (with resume,
// the participant id of the session to carry on), welcome.
func (c *Client) handshake(ctx context.Context, resume string) error {
	// Nothing but the join may go out before the welcome: the server
	// answers anything else with "join first", which would read as a
	// refusal here.
	c.held.Store(true)
	if err := c.dial(ctx, c.wsURL); err != nil {
		return err
	}
	nonce, err := c.awaitChallenge(ctx)
	if err != nil {
		return err
	}
	cfg := c.cfg
	join := protocol.Join{
		Type:       protocol.TypeJoin,
		Version:    protocol.Version,
		Line:       cfg.Line,
		Call:       cfg.Call,
		Credential: protocol.Credential{Body: cfg.Device.Credential.Body, Sig: cfg.Device.Credential.Sig},
		Proof:      trust.B64(trust.JoinProof(cfg.Device.SigPrivate(), nonce, c.server, cfg.Line, cfg.Call)),
		Tracks:     c.localInfos(),
		Resume:     resume,
	}
	if err := c.writeJSON(ctx, join); err != nil {
		return fmt.Errorf("client: send join: %w", err)
	}
	if err := c.awaitWelcome(ctx, resume); err != nil {
		return err
	}
	c.held.Store(false)
	return nil
}

// writeWS sends one message as a text frame. coder/websocket allows
// concurrent writers, so the read loop, Pion's candidate callback and the
// caller may all send.
func (c *Client) writeWS(ctx context.Context, msg any) error {
	if c.held.Load() {
		return errHeld
	}
	return c.writeJSON(ctx, msg)
}

// errHeld: a message other than the join, while a socket is being joined.
var errHeld = errors.New("client: the signalling socket is being (re)joined")

func (c *Client) writeJSON(ctx context.Context, msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("client: encode: %w", err)
	}
	if len(data) > protocol.MaxMessageBytes {
		return fmt.Errorf("client: message of %d bytes exceeds %d", len(data), protocol.MaxMessageBytes)
	}
	return c.writeRaw(ctx, data)
}

func (c *Client) writeRaw(ctx context.Context, data []byte) error {
	ws := c.socket()
	if ws == nil {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("client: send: %w", err)
	}
	return nil
}

// SendRaw sends data as one text frame, unchecked: a test hook for feeding
// the server malformed or hostile messages.
func (c *Client) SendRaw(ctx context.Context, data []byte) error {
	return c.writeRaw(ctx, data)
}

// readMessage reads and decodes one server message. Undecodable messages are
// logged and skipped (nil, nil): a strict decoder protects the client, and
// one bad message should not end a call.
func (c *Client) readMessage(ctx context.Context) (any, error) {
	typ, data, err := c.socket().Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		c.log.Warn("server sent a binary frame; ignored", "bytes", len(data))
		return nil, nil
	}
	msg, err := protocol.DecodeServer(data)
	if err != nil {
		c.log.Warn("undecodable server message; ignored", "err", err)
		return nil, nil
	}
	return msg, nil
}

// awaitChallenge reads the server's first message, the challenge that the
// join proof signs.
func (c *Client) awaitChallenge(ctx context.Context) ([]byte, error) {
	for {
		msg, err := c.readMessage(ctx)
		if err != nil {
			return nil, fmt.Errorf("client: waiting for the challenge: %w", err)
		}
		switch m := msg.(type) {
		case *protocol.Challenge:
			if m.Version != protocol.Version {
				return nil, fmt.Errorf("client: the server speaks protocol version %d, this client %d", m.Version, protocol.Version)
			}
			return trust.DecodeB64(m.Nonce)
		case *protocol.ErrorMsg:
			c.recordError(m)
			return nil, fmt.Errorf("client: before join: %w", &ServerError{Msg: *m})
		case nil:
		default:
			return nil, fmt.Errorf("client: expected a challenge, got %T", msg)
		}
	}
}

// awaitWelcome reads until the server welcomes the client or refuses it. A
// resumption must be welcomed as one, with the same id.
func (c *Client) awaitWelcome(ctx context.Context, resume string) error {
	for {
		msg, err := c.readMessage(ctx)
		if err != nil {
			return fmt.Errorf("client: waiting for welcome: %w", err)
		}
		switch m := msg.(type) {
		case *protocol.Welcome:
			if resume != "" && (!m.Resumed || m.ID != resume) {
				return fmt.Errorf("client: asked to resume %s, welcomed as %s (resumed %v)", resume, m.ID, m.Resumed)
			}
			c.mu.Lock()
			c.id = m.ID
			c.mu.Unlock()
			if err := c.keys.SetSelfID(m.ID); err != nil {
				return fmt.Errorf("client: keys: %w", err)
			}
			c.log.Debug("welcomed", "id", m.ID, "ice_servers", len(m.ICEServers))
			return c.useICEServers(m.ICEServers)
		case *protocol.ErrorMsg:
			c.recordError(m)
			return fmt.Errorf("client: join: %w", &ServerError{Msg: *m})
		case nil:
		default:
			// Not expected before welcome, but harmless: handle it as usual.
			if c.deliver != nil {
				c.deliver(msg)
			} else {
				c.dispatch(msg)
			}
		}
	}
}

// inboxSize bounds the server messages read but not yet handled. A server
// sends a few per event (a roster, an offer, a key message per member);
// a backlog this long means the handler has fallen hopelessly behind, and
// the session ends (ErrBacklog) rather than buffer without bound.
const inboxSize = 512

// ErrBacklog ends a session whose handler fell inboxSize messages behind
// the socket.
var ErrBacklog = errors.New("client: server messages arrive faster than they are handled")

// readLoop runs the signalling session until the WebSocket closes. The
// goroutine that calls it only reads: the socket's reads answer the
// server's pings at once (coder/websocket answers a ping within Read), so
// a slow roster, offer or key message never stalls them and the server
// never closes a busy client with "ping timeout". Messages go, in order,
// through a bounded queue to one handler goroutine, which answers offers
// one at a time as PROTOCOL.md requires.
func (c *Client) readLoop() {
	inbox := make(chan any, inboxSize)
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		for msg := range inbox {
			if h := c.cfg.handling; h != nil {
				h(msg)
			}
			c.dispatch(msg)
		}
	}()
	overflow := false
	c.deliver = func(msg any) {
		select {
		case inbox <- msg:
		default:
			overflow = true
		}
	}
	err := c.read(&overflow)
	close(inbox)
	if errors.Is(err, ErrBacklog) {
		c.endSession(err) // now: the handler is the one behind
	}
	<-handled // every message read before the end is handled, then the session ends
	if websocket.CloseStatus(err) == websocket.StatusCode(protocol.CloseEnded) {
		// The handler has now seen the "ended" message that came before.
		c.mu.Lock()
		e := &EndedError{By: c.endedBy.By, Reason: c.endedBy.Reason}
		c.mu.Unlock()
		c.log.Info("the call has ended", "by", e.By, "reason", e.Reason)
		err = e
	}
	c.endSession(err)
}

// read reads the socket until the session ends and says why (nil: on
// purpose), resuming it over a new socket when it can.
func (c *Client) read(overflow *bool) error {
	for {
		msg, err := c.readMessage(c.ctx)
		if err == nil && msg != nil {
			c.deliver(msg)
		}
		if *overflow {
			c.log.Error("server messages not handled in time; ending the session", "queued", inboxSize)
			if ws := c.socket(); ws != nil {
				ws.CloseNow()
			}
			return ErrBacklog
		}
		if err != nil && c.resumable(err) {
			if rerr := c.resume(); rerr == nil {
				continue
			} else {
				c.log.Info("could not resume the session", "err", rerr)
			}
		}
		if err == nil {
			continue
		}
		c.mu.Lock()
		closing := c.closed
		c.mu.Unlock()
		switch {
		case closing || websocket.CloseStatus(err) == websocket.StatusNormalClosure:
			return nil // we closed, or the server ended the session normally (after leave)
		case websocket.CloseStatus(err) == websocket.StatusCode(protocol.CloseEnded):
			return err // readLoop makes it an EndedError once the "ended" message is handled
		default:
			c.log.Info("signalling ended", "err", err)
			return err
		}
	}
}

func (c *Client) dispatch(msg any) {
	switch m := msg.(type) {
	case *protocol.Welcome:
		c.log.Warn("second welcome ignored")
	case *protocol.Roster:
		c.keys.SetRoster(*m)
		c.mu.Lock()
		c.roster = m.Participants
		c.interp = interpretation{m.Languages, m.Mode}
		c.opening = openingOf(m)
		if c.atJoin == nil {
			c.atJoin = make(map[string]bool, len(m.Participants))
			for _, p := range m.Participants {
				c.atJoin[p.ID] = true
			}
		}
		c.mu.Unlock()
	case *protocol.SDP:
		if err := c.handleOffer(m); err != nil {
			c.log.Error("offer not answered", "err", err)
		}
	case *protocol.Candidate:
		if err := c.handleRemoteCandidate(m.Candidate); err != nil {
			c.log.Warn("remote candidate", "err", err)
		}
	case *protocol.Key:
		if err := c.keys.HandleKey(m); err != nil {
			c.log.Warn("key message rejected", "from", m.From, "kid", m.KID, "err", err)
		} else {
			c.keyArrived(m.From)
		}
	case *protocol.ErrorMsg:
		c.recordError(m)
	case *protocol.Ended:
		// The close status (protocol.CloseEnded) follows; readLoop reports it.
		c.mu.Lock()
		c.endedBy = *m
		c.mu.Unlock()
	case *protocol.Challenge:
		c.log.Warn("second challenge ignored")
	default:
		c.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (c *Client) recordError(m *protocol.ErrorMsg) {
	c.log.Info("server error", "code", m.Code, "message", m.Message, "ref", m.Ref)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) == maxErrors {
		c.errs = c.errs[1:]
	}
	c.errs = append(c.errs, *m)
}
