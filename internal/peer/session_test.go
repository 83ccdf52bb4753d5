package peer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"hotline/internal/call"
	"hotline/internal/peer"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/sfu"
)

// Session tests at the level of the wire: messages go in and come out of a
// fake peer.Conn, the transport the server's WebSocket otherwise is. Tests
// that never reach a PeerConnection run in a synctest bubble (the rate
// limiter and the gate's deadline then run on its fake clock); the others
// use a real Engine on loopback.

// fakeConn is the client's end of a session's transport.
type fakeConn struct {
	in chan []byte // client → server

	mu     sync.Mutex
	out    chan []byte // server → client, closed by Close
	closed bool
	reason peer.CloseReason
	text   string
	done   chan struct{}
	// hold, if set, is called (without the lock) before each message is
	// written: a test can stall the session's loop on a chosen message.
	hold func(data []byte)
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan []byte, 512), out: make(chan []byte, 4096), done: make(chan struct{})}
}

var errTransportClosed = errors.New("transport closed")

func (c *fakeConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case b, ok := <-c.in:
		if !ok {
			return nil, io.EOF // the client went away
		}
		if len(b) > protocol.MaxMessageBytes {
			return nil, errors.New("message too large") // as the WebSocket's read limit
		}
		return b, nil
	case <-c.done:
		return nil, errTransportClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *fakeConn) Write(ctx context.Context, data []byte) error {
	if c.hold != nil {
		c.hold(data)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errTransportClosed
	}
	select {
	case c.out <- data:
		return nil
	default:
		return errors.New("client not reading")
	}
}

func (c *fakeConn) Close(reason peer.CloseReason, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errTransportClosed
	}
	c.closed, c.reason, c.text = true, reason, text
	close(c.out)
	close(c.done)
	return nil
}

// send writes one client message (a value marshalled to JSON, or raw bytes).
func (c *fakeConn) send(t *testing.T, v any) {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	c.in <- b
}

// msg is one server message: its type and its bytes.
type msg struct {
	typ  string
	data []byte
}

func (m msg) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(m.data, v); err != nil {
		t.Fatalf("%s: %v", m.typ, err)
	}
}

// patience bounds every wait for the server (in a bubble, on its clock).
const patience = 10 * time.Second

// next returns the next server message; ok is false once the transport is
// closed and everything sent before has been read.
func (c *fakeConn) next(t *testing.T) (m msg, ok bool) {
	t.Helper()
	select {
	case data, open := <-c.out:
		if !open {
			return msg{}, false
		}
		var env protocol.Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatalf("server sent %q: %v", data, err)
		}
		return msg{env.Type, data}, true
	case <-time.After(patience):
		t.Fatal("no message from the server")
		return msg{}, false
	}
}

// expect reads the next server message other than a candidate and checks
// its type.
func (c *fakeConn) expect(t *testing.T, typ string) msg {
	t.Helper()
	for {
		m, ok := c.next(t)
		if !ok {
			t.Fatalf("transport closed (%d %q) while waiting for %s", c.reason, c.text, typ)
		}
		if m.typ == protocol.TypeCandidate && typ != protocol.TypeCandidate {
			continue
		}
		if m.typ != typ {
			t.Fatalf("got %s %s, want %s", m.typ, m.data, typ)
		}
		return m
	}
}

// expectError reads the next message, an error with code and ref.
func (c *fakeConn) expectError(t *testing.T, code, ref string) protocol.ErrorMsg {
	t.Helper()
	var e protocol.ErrorMsg
	c.expect(t, protocol.TypeError).decode(t, &e)
	if e.Code != code || e.Ref != ref || e.Message == "" {
		t.Fatalf("error %+v, want code %q ref %q and a message", e, code, ref)
	}
	return e
}

// nextError skips messages up to the next error, which must have code and
// ref; the transport closing first fails the test.
func (c *fakeConn) nextError(t *testing.T, code, ref string) {
	t.Helper()
	for {
		m, ok := c.next(t)
		if !ok {
			t.Fatalf("closed (reason %d, %q) before an error %s/%s", c.reason, c.text, code, ref)
		}
		if m.typ == protocol.TypeError {
			var e protocol.ErrorMsg
			m.decode(t, &e)
			if e.Code != code || e.Ref != ref {
				t.Fatalf("error %+v, want %s/%s", e, code, ref)
			}
			return
		}
	}
}

// expectClosed reads what is left (candidates and rosters only: others may
// come and go meanwhile) and checks why the server closed the transport.
func (c *fakeConn) expectClosed(t *testing.T, reason peer.CloseReason) {
	t.Helper()
	for {
		m, ok := c.next(t)
		if !ok {
			break
		}
		if m.typ != protocol.TypeCandidate && m.typ != protocol.TypeRoster {
			t.Fatalf("got %s %s, want the close", m.typ, m.data)
		}
	}
	if c.reason != reason {
		t.Fatalf("closed with reason %d (%q), want %d", c.reason, c.text, reason)
	}
}

// fakeGate admits the credentials it knows (by body) and records the
// nonces it was asked about. The real gate (internal/server) checks the
// proof over the nonce; here the nonce itself is what the test checks.
type fakeGate struct {
	mu     sync.Mutex
	admit  map[string]peer.Admitted
	nonces [][]byte
	hang   bool // wait for the deadline instead of answering
}

func (g *fakeGate) Admit(ctx context.Context, nonce []byte, _ string, j *protocol.Join) (peer.Admitted, error) {
	g.mu.Lock()
	g.nonces = append(g.nonces, nonce)
	a, ok := g.admit[j.Credential.Body]
	hang := g.hang
	g.mu.Unlock()
	if hang {
		<-ctx.Done()
		return peer.Admitted{}, ctx.Err()
	}
	if !ok {
		return peer.Admitted{}, errors.New("credential not signed by a pinned authority")
	}
	return a, nil
}

// Credentials the fake gate knows, by body (base64url, as on the wire).
const (
	credPrincipal = "cHJpbmNpcGFs"
	credAdviser   = "YWR2aXNlcg"
	credMonitor   = "bW9uaXRvcg"
	credPhone     = "cGhvbmU"
	credTwin      = "dHdpbg" // another credential of the principal's device
	credStranger  = "c3RyYW5nZXI"
	credWest      = "d2VzdA" // the other side's principal
)

func newGate() *fakeGate {
	return &fakeGate{admit: map[string]peer.Admitted{
		credPrincipal: {Device: "dev-p", Name: "Principal", Side: "east", Roles: []role.Role{role.Principal}},
		credAdviser:   {Device: "dev-a", Name: "Adviser", Side: "east", Roles: []role.Role{role.Adviser}},
		credMonitor:   {Device: "dev-m", Name: "Monitor", Side: "east", Roles: []role.Role{role.Monitor}},
		credPhone:     {Device: "dev-f", Name: "Phone", Side: "east", Roles: []role.Role{role.Principal}, Call: call.Admission{Kind: call.KindPhone}},
		credTwin:      {Device: "dev-p", Name: "Principal again", Side: "east", Roles: []role.Role{role.Principal}},
		credWest:      {Device: "dev-w", Name: "West", Side: "west", Roles: []role.Role{role.Principal}},
	}}
}

func join(cred string, tracks ...protocol.TrackInfo) protocol.Join {
	if tracks == nil {
		tracks = []protocol.TrackInfo{}
	}
	return protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Line: "demo", Call: "c1",
		Credential: protocol.Credential{Body: cred, Sig: strings.Repeat("S", protocol.SigB64Len)},
		Proof:      strings.Repeat("P", protocol.SigB64Len), Tracks: tracks}
}

var (
	mic = protocol.TrackInfo{ID: "mic", Kind: protocol.KindAudio, Source: "mic"}
	cam = protocol.TrackInfo{ID: "cam0", Kind: protocol.KindVideo, Source: "camera"}
)

// session runs one session on a fake transport until the test ends.
type session struct {
	*fakeConn
	done chan struct{}
}

func serve(t *testing.T, ctx context.Context, cfg peer.SessionConfig) *session {
	return serveOn(t, ctx, cfg, newFakeConn())
}

// serveOn is serve on a transport the test prepared.
func serveOn(t *testing.T, ctx context.Context, cfg peer.SessionConfig, conn *fakeConn) *session {
	s := &session{fakeConn: conn, done: make(chan struct{})}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	go func() {
		defer close(s.done)
		peer.Serve(ctx, s.fakeConn, cfg)
	}()
	t.Cleanup(func() {
		// The client goes away, if the server has not closed first; Serve
		// returns only once every goroutine of the session has ended.
		s.fakeConn.mu.Lock()
		if !s.fakeConn.closed {
			close(s.in)
		}
		s.fakeConn.mu.Unlock()
		<-s.done
	})
	return s
}

// challenge reads the challenge and returns its nonce.
func (s *session) challenge(t *testing.T) []byte {
	t.Helper()
	var ch protocol.Challenge
	s.expect(t, protocol.TypeChallenge).decode(t, &ch)
	if ch.Version != protocol.Version {
		t.Fatalf("challenge version %d, want %d", ch.Version, protocol.Version)
	}
	nonce, err := base64.RawURLEncoding.DecodeString(ch.Nonce)
	if err != nil || len(nonce) != 32 {
		t.Fatalf("challenge nonce %q: %d bytes, %v", ch.Nonce, len(nonce), err)
	}
	return nonce
}

// TestSessionChallenge: the first message is a challenge with a fresh
// 32-byte nonce; the join's proof is checked against exactly that nonce;
// a refused join gets unauthorized, a policy close, and no participant.
func TestSessionChallenge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate, reg := newGate(), call.NewRegistry(call.Config{MaxMembers: 8})
		cfg := peer.SessionConfig{Registry: reg, Gate: gate}
		a, b := serve(t, t.Context(), cfg), serve(t, t.Context(), cfg)
		na, nb := a.challenge(t), b.challenge(t)
		if string(na) == string(nb) {
			t.Fatal("two sessions got the same nonce")
		}
		a.send(t, join(credStranger))
		a.expectError(t, protocol.CodeUnauthorized, protocol.TypeJoin)
		a.expectClosed(t, peer.ClosePolicy)
		synctest.Wait()
		if len(gate.nonces) != 1 || string(gate.nonces[0]) != string(na) {
			t.Fatalf("the gate was asked about %x, want the challenge's %x", gate.nonces, na)
		}
		if n := reg.Participants(); n != 0 {
			t.Fatalf("%d participants after a refused join", n)
		}
	})
}

// TestSessionBeforeJoin: before a join, every other message is answered
// with a state error naming it, and malformed ones with bad_message; the
// session goes on. A join in another protocol version closes it.
func TestSessionBeforeJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, t.Context(), peer.SessionConfig{Registry: call.NewRegistry(call.Config{MaxMembers: 8}), Gate: newGate()})
		s.challenge(t)
		s.send(t, protocol.Publish{Type: protocol.TypePublish, Tracks: []protocol.TrackInfo{mic}})
		s.expectError(t, protocol.CodeState, protocol.TypePublish)
		s.send(t, protocol.Leave{Type: protocol.TypeLeave})
		s.expectError(t, protocol.CodeState, protocol.TypeLeave)
		s.send(t, []byte(`{"type":"publish","tracks":[],"extra":1}`))
		s.expectError(t, protocol.CodeBadMessage, protocol.TypePublish)
		s.send(t, []byte(`not json`))
		s.expectError(t, protocol.CodeBadMessage, "")
		j := join(credPrincipal)
		j.Version = protocol.Version + 1
		s.send(t, j)
		s.expectError(t, protocol.CodeVersion, protocol.TypeJoin)
		s.expectClosed(t, peer.ClosePolicy)
	})
}

// TestSessionNoGatekeeper: a server without a gate admits nobody.
func TestSessionNoGatekeeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, t.Context(), peer.SessionConfig{Registry: call.NewRegistry(call.Config{MaxMembers: 8})})
		s.challenge(t)
		s.send(t, join(credPrincipal))
		s.expectError(t, protocol.CodeUnauthorized, protocol.TypeJoin)
		s.expectClosed(t, peer.ClosePolicy)
	})
}

// TestSessionGateDeadline: a gate that does not answer is cut off after 5 s
// (on the bubble's clock) and the join is refused.
func TestSessionGateDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := newGate()
		gate.hang = true
		s := serve(t, t.Context(), peer.SessionConfig{Registry: call.NewRegistry(call.Config{MaxMembers: 8}), Gate: gate})
		s.challenge(t)
		start := time.Now()
		s.send(t, join(credPrincipal))
		s.expectError(t, protocol.CodeUnauthorized, protocol.TypeJoin)
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("refused after %v, want the gate's 5 s deadline", d)
		}
		s.expectClosed(t, peer.ClosePolicy)
	})
}

// TestSessionJoinForbiddenTracks: what the roles and the call's kind do not
// allow is refused before anything is set up (no PeerConnection: this
// session has no Engine), with forbidden and a normal close.
func TestSessionJoinForbiddenTracks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := call.NewRegistry(call.Config{MaxMembers: 8})
		for _, c := range []struct {
			name, cred string
			tracks     []protocol.TrackInfo
		}{
			{"a monitor with a microphone", credMonitor, []protocol.TrackInfo{mic}},
			{"a camera in a phone call", credPhone, []protocol.TrackInfo{mic, cam}},
		} {
			s := serve(t, t.Context(), peer.SessionConfig{Registry: reg, Gate: newGate()})
			s.challenge(t)
			s.send(t, join(c.cred, c.tracks...))
			s.expectError(t, protocol.CodeForbidden, protocol.TypeJoin)
			s.expectClosed(t, peer.CloseNormal)
			if n := reg.Participants(); n != 0 {
				t.Fatalf("%s: %d participants", c.name, n)
			}
		}
	})
}

// TestSessionRateLimit: 20 messages a second with bursts of 100
// (docs/PROTOCOL.md). On the bubble's clock no token comes back while the
// test sends, so the counts are exact: the burst is served, each message
// beyond it is refused with rate_limited, and the tenth refusal closes the
// session (policy).
func TestSessionRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := serve(t, t.Context(), peer.SessionConfig{Registry: call.NewRegistry(call.Config{MaxMembers: 8}), Gate: newGate()})
		s.challenge(t)
		bad := []byte(`{}`) // answered with bad_message: cheap, and counted
		for range 100 {
			s.send(t, bad)
		}
		for range 100 {
			s.expectError(t, protocol.CodeBadMessage, "")
		}
		time.Sleep(500 * time.Millisecond) // 10 tokens come back
		for range 10 {
			s.send(t, bad)
		}
		for range 10 {
			s.expectError(t, protocol.CodeBadMessage, "")
		}
		for range 9 {
			s.send(t, bad)
			s.expectError(t, protocol.CodeRateLimited, "")
		}
		s.send(t, bad)
		s.expectError(t, protocol.CodeRateLimited, "")
		s.expectClosed(t, peer.ClosePolicy)
	})
}

// engine is a real media engine on loopback for the sessions that get as
// far as a PeerConnection.
func engine(t *testing.T) *peer.Engine {
	t.Helper()
	e, err := peer.NewEngine(peer.EngineConfig{ListenIP: net.IPv4(127, 0, 0, 1)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// TestSessionJoinOrder: an admitted join is answered with welcome first
// (id, line, call, the actions the roles allow), then the offer for the
// declared tracks and the roster. A second join, an answer with no offer
// outstanding and a key to nobody are refused without ending the session;
// leave closes it normally and the call is empty again.
func TestSessionJoinOrder(t *testing.T) {
	reg := call.NewRegistry(call.Config{MaxMembers: 8})
	cfg := peer.SessionConfig{Engine: engine(t), Registry: reg, Gate: newGate()}
	s := serve(t, t.Context(), cfg)
	s.challenge(t)
	s.send(t, join(credPrincipal, mic))
	var w protocol.Welcome
	s.expect(t, protocol.TypeWelcome).decode(t, &w)
	if w.Version != protocol.Version || w.ID == "" || w.Line != "demo" || w.Call != "c1" || !strings.Contains(strings.Join(w.May, " "), string(role.PublishAudio)) {
		t.Fatalf("welcome %+v", w)
	}
	// The offer and the roster follow (their relative order is
	// docs/PROTOCOL.md's to state, not this test's).
	var offer protocol.SDP
	var roster protocol.Roster
	for offer.Type == "" || roster.Type == "" {
		m, _ := s.next(t)
		switch m.typ {
		case protocol.TypeOffer:
			m.decode(t, &offer)
		case protocol.TypeRoster:
			m.decode(t, &roster)
		case protocol.TypeCandidate:
		default:
			t.Fatalf("got %s %s after welcome", m.typ, m.data)
		}
	}
	if len(offer.Send) != 1 || offer.Send[0].Track != "mic" || !strings.Contains(offer.SDP, "m=audio") {
		t.Fatalf("offer send %+v for the declared mic", offer.Send)
	}
	if p := roster.Participants; len(p) != 1 || p[0].ID != w.ID || p[0].State != protocol.StateIn || p[0].Name != "Principal" {
		t.Fatalf("roster %+v", p)
	}
	if n := reg.Participants(); n != 1 {
		t.Fatalf("%d participants", n)
	}

	s.send(t, join(credPrincipal))
	s.expectError(t, protocol.CodeState, protocol.TypeJoin)
	key := protocol.Key{Type: protocol.TypeKey, To: "nobody", KID: 1, Sealed: strings.Repeat("k", protocol.SealedB64Len), Sig: strings.Repeat("s", protocol.SigB64Len)}
	s.send(t, key)
	s.expectError(t, protocol.CodeRefused, protocol.TypeKey)
	s.send(t, protocol.Leave{Type: protocol.TypeLeave})
	s.expectClosed(t, peer.CloseNormal)
	<-s.done
	if n := reg.Participants(); n != 0 {
		t.Fatalf("%d participants after leave", n)
	}
}

// TestSessionAnswerTimeout: a client that never answers an offer is ended
// after AnswerTimeout with a state error naming the offer. (The session has
// a real PeerConnection, whose network goroutines a synctest bubble cannot
// hold, so the timeout is a short real one.)
func TestSessionAnswerTimeout(t *testing.T) {
	cfg := peer.SessionConfig{Engine: engine(t), Registry: call.NewRegistry(call.Config{MaxMembers: 8}), Gate: newGate(), AnswerTimeout: 200 * time.Millisecond}
	s := serve(t, t.Context(), cfg)
	s.challenge(t)
	s.send(t, join(credPrincipal, mic))
	s.expect(t, protocol.TypeWelcome)
	s.nextError(t, protocol.CodeState, protocol.TypeOffer)
	s.expectClosed(t, peer.CloseError)
}

// TestSessionNoOfferWithoutMedia: a receive-only member alone in a call has
// nothing to negotiate: no offer, and an answer is refused as out of turn.
func TestSessionNoOfferWithoutMedia(t *testing.T) {
	s := serve(t, t.Context(), peer.SessionConfig{Engine: engine(t), Registry: call.NewRegistry(call.Config{MaxMembers: 8}), Gate: newGate()})
	s.challenge(t)
	s.send(t, join(credPrincipal))
	s.expect(t, protocol.TypeWelcome)
	s.expect(t, protocol.TypeRoster)
	s.send(t, protocol.SDP{Type: protocol.TypeAnswer, SDP: "v=0\r\n"})
	s.expectError(t, protocol.CodeState, protocol.TypeAnswer)
}

// joined is a session that joined with cred and no tracks: it has read the
// challenge, the welcome (returned) and its first roster.
func joined(t *testing.T, ctx context.Context, cfg peer.SessionConfig, cred string) (*session, protocol.Welcome) {
	t.Helper()
	s := serve(t, ctx, cfg)
	s.challenge(t)
	s.send(t, join(cred))
	var w protocol.Welcome
	s.expect(t, protocol.TypeWelcome).decode(t, &w)
	s.expect(t, protocol.TypeRoster)
	return s, w
}

// TestSessionTwoMembers: the same device joining again replaces its first
// session (a reconnection the server had not noticed): the first is told it
// was removed by a newer connection of the same device and closed
// normally, and the call still has one participant; a key message is
// relayed between key members with the sender's id; a server shutting down
// closes with going-away.
func TestSessionTwoMembers(t *testing.T) {
	reg := call.NewRegistry(call.Config{MaxMembers: 8})
	ctx, shutdown := context.WithCancel(t.Context())
	cfg := peer.SessionConfig{Engine: engine(t), Registry: reg, Gate: newGate()}
	first, _ := joined(t, ctx, cfg, credPrincipal)

	p, pw := joined(t, ctx, cfg, credTwin)
	if e := first.expectError(t, protocol.CodeRemoved, ""); !strings.Contains(e.Message, call.ReplacedBy) {
		t.Fatalf("the replaced session was told %q", e.Message)
	}
	first.expectClosed(t, peer.CloseNormal)
	if n := reg.Participants(); n != 1 {
		t.Fatalf("%d participants after the twin replaced the first session", n)
	}

	// The other side's principal is in at once, a key member; an adviser
	// in the lobby would not be, and gets no keys (internal/call,
	// TestRelayKeyOnlyBetweenKeyMembers).
	a, aw := joined(t, ctx, cfg, credWest)
	var r protocol.Roster
	p.expect(t, protocol.TypeRoster).decode(t, &r)
	if len(r.Participants) != 2 || r.Participants[1].ID != aw.ID || r.Participants[1].State == protocol.StateWaiting {
		t.Fatalf("the principal's roster %+v: want the west principal in the call", r.Participants)
	}
	key := protocol.Key{Type: protocol.TypeKey, To: aw.ID, KID: 7, Sealed: strings.Repeat("k", protocol.SealedB64Len), Sig: strings.Repeat("s", protocol.SigB64Len)}
	p.send(t, key)
	var got protocol.Key
	a.expect(t, protocol.TypeKey).decode(t, &got)
	if got.From != pw.ID || got.To != "" || got.KID != 7 || got.Sealed != key.Sealed || got.Sig != key.Sig {
		t.Fatalf("relayed key %+v", got)
	}

	shutdown()
	p.expectClosed(t, peer.CloseGoingAway)
	a.expectClosed(t, peer.CloseGoingAway)
}

// TestSessionRestartICE: restart_ice makes the server's next offer restart
// ICE (new credentials), nothing else about the session changing; asked
// while an offer is outstanding, the restart waits for the answer.
func TestSessionRestartICE(t *testing.T) {
	s := serve(t, t.Context(), peer.SessionConfig{Engine: engine(t), Registry: call.NewRegistry(call.Config{MaxMembers: 8}), Gate: newGate()})
	s.challenge(t)
	s.send(t, join(credPrincipal, mic))
	s.expect(t, protocol.TypeWelcome)
	var se webrtc.SettingEngine // loopback only, like every test
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	answerer, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { answerer.Close() })
	nextOffer := func() protocol.SDP {
		t.Helper()
		for {
			m, _ := s.next(t)
			if m.typ == protocol.TypeOffer {
				var o protocol.SDP
				m.decode(t, &o)
				return o
			}
		}
	}
	answer := func(o protocol.SDP) {
		t.Helper()
		if err := answerer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
			t.Fatal(err)
		}
		a, err := answerer.CreateAnswer(nil)
		if err == nil {
			err = answerer.SetLocalDescription(a)
		}
		if err != nil {
			t.Fatal(err)
		}
		s.send(t, protocol.SDP{Type: protocol.TypeAnswer, SDP: a.SDP})
	}
	ufrag := func(sdp string) string {
		for _, l := range strings.Split(sdp, "\r\n") {
			if v, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok {
				return v
			}
		}
		t.Fatalf("no ice-ufrag in %q", sdp)
		return ""
	}
	first := nextOffer()
	s.send(t, protocol.RestartICE{Type: protocol.TypeRestartICE}) // an offer is outstanding
	answer(first)
	second := nextOffer()
	if ufrag(second.SDP) == ufrag(first.SDP) {
		t.Fatalf("the offer after restart_ice kept the ICE credentials %q", ufrag(first.SDP))
	}
	if len(second.Send) != 1 || second.Send[0] != first.Send[0] {
		t.Fatalf("send table %+v after the restart, was %+v", second.Send, first.Send)
	}
}

// keyMember is a call member outside any session: it records the rosters
// it is sent, so that a test can act as a member that answers one.
type keyMember struct{ rosters chan protocol.Roster }

func (m *keyMember) Subscribe(call.Publication)      {}
func (m *keyMember) Unsubscribe(call.Publication)    {}
func (m *keyMember) RosterChanged(r protocol.Roster) { m.rosters <- r }
func (m *keyMember) DeliverKey(protocol.Key)         {}
func (m *keyMember) Removed(string)                  {}
func (m *keyMember) Ended(string, string)            {}

// TestSessionOfferBeforeKey: a receive-only member that joins a call where
// someone publishes gets welcome, roster, offer (docs/PROTOCOL.md, "After
// join"), even when another member, seeing the same roster, sends it a key
// before its session's loop has sent the roster: the offer goes with the
// roster, the key after. The joiner's loop is stalled on its welcome until
// the key has been relayed, the order a loaded machine once produced in
// TestProtocolDocument.
func TestSessionOfferBeforeKey(t *testing.T) {
	reg := call.NewRegistry(call.Config{MaxMembers: 8})
	speaker := &keyMember{rosters: make(chan protocol.Roster, 16)}
	c, err := reg.Join("demo/c1", call.Identity{ID: "spk", Name: "Speaker", Device: "dev-s", Side: "west", Roles: []role.Role{role.Principal}}, speaker)
	if err != nil {
		t.Fatal(err)
	}
	<-speaker.rosters
	opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
	tr := sfu.NewTrack(sfu.TrackConfig{ID: "spk.mic", StreamID: "spk", Codec: opus})
	defer tr.Close()
	if err := c.Publish("spk", mic, tr); err != nil {
		t.Fatal(err)
	}
	<-speaker.rosters

	release := make(chan struct{})
	conn := newFakeConn()
	conn.hold = func(data []byte) {
		if strings.Contains(string(data), `"type":"welcome"`) {
			<-release
		}
	}
	s := serveOn(t, t.Context(), peer.SessionConfig{Engine: engine(t), Registry: reg, Gate: newGate()}, conn)
	s.challenge(t)
	s.send(t, join(credPrincipal))
	var r protocol.Roster
	select {
	case r = <-speaker.rosters:
	case <-time.After(patience):
		t.Fatal("the speaker never saw the joiner")
	}
	if len(r.Participants) != 2 {
		t.Fatalf("roster %+v", r.Participants)
	}
	key := protocol.Key{To: r.Participants[1].ID, KID: 1, Sealed: strings.Repeat("k", protocol.SealedB64Len), Sig: strings.Repeat("s", protocol.SigB64Len)}
	if err := c.RelayKey("spk", key); err != nil {
		t.Fatal(err)
	}
	close(release)
	var got []string
	for len(got) < 4 {
		m, _ := s.next(t)
		if m.typ != protocol.TypeCandidate {
			got = append(got, m.typ)
		}
	}
	if want := []string{protocol.TypeWelcome, protocol.TypeRoster, protocol.TypeOffer, protocol.TypeKey}; !slices.Equal(got, want) {
		t.Fatalf("the joiner got %v, want %v", got, want)
	}
}

// TestSessionResumedSocketOutlivesJoinTimeout: a socket that resumed a
// session carries it on past the join timeout (the socket never joined by
// itself: the join it sent named the session to resume). It was closed at
// the timeout with 1008, and the page then rejoined: TestBrowserResumesSession
// failed that way whenever it ran longer than 10 s after its resumption.
func TestSessionResumedSocketOutlivesJoinTimeout(t *testing.T) {
	const joinTimeout = 300 * time.Millisecond
	cfg := peer.SessionConfig{Engine: engine(t), Registry: call.NewRegistry(call.Config{MaxMembers: 8}), Gate: newGate(),
		Directory: peer.NewDirectory(), JoinTimeout: joinTimeout}
	first, w := joined(t, t.Context(), cfg, credPrincipal)
	second := serve(t, t.Context(), cfg)
	second.challenge(t)
	j := join(credPrincipal)
	j.Resume = w.ID
	second.send(t, j)
	var again protocol.Welcome
	second.expect(t, protocol.TypeWelcome).decode(t, &again)
	if !again.Resumed || again.ID != w.ID {
		t.Fatalf("welcome %+v, want the session %s resumed", again, w.ID)
	}
	first.expectClosed(t, peer.CloseNormal) // the old socket, replaced
	// Well past the join timeout, the resumed socket still carries the
	// session: a second join is refused as such, not the socket closed.
	time.Sleep(3 * joinTimeout)
	second.send(t, join(credPrincipal))
	second.nextError(t, protocol.CodeState, protocol.TypeJoin)
}
