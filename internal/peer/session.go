package peer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"hotline/internal/call"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/sfu"
)

// Conn is the signalling transport of one session (a WebSocket, for
// internal/httpapi). Write may be called concurrently; Read only from one
// goroutine. Read must enforce protocol.MaxMessageBytes.
type Conn interface {
	Read(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, data []byte) error
	Close(reason CloseReason, text string) error
}

// CloseReason says why the server closes a session's transport.
type CloseReason int

const (
	CloseNormal    CloseReason = iota // the participant left
	ClosePolicy                       // it broke the protocol's rules (rate limit)
	CloseGoingAway                    // the server is shutting down
	CloseError                        // the session failed
	CloseEnded                        // the call was ended for everyone (protocol.CloseEnded)
)

// Rate limit: 20 messages/s on average, bursts of 100 (docs/PROTOCOL.md).
const (
	rateLimit     = 20
	rateBurst     = 100
	maxRefusals   = 10
	maxCandidates = 64 // held before the answer arrives
)

// DefaultWriteTimeout bounds one message's write to a client: one that
// stops reading has its session ended rather than stall it.
const DefaultWriteTimeout = 5 * time.Second

// Gatekeeper decides who may join: it checks a join's credential against
// the line's authorities and its proof of possession over the session's
// challenge nonce and the server name the client reached it by
// (SessionConfig.Server; docs/PROTOCOL.md, "Join"). internal/server
// implements it.
type Gatekeeper interface {
	Admit(ctx context.Context, nonce []byte, server string, j *protocol.Join) (Admitted, error)
}

// Admitted is who a successful join is.
type Admitted struct {
	Device string // device id
	Name   string // from the credential
	Side   string // from the credential
	Roles  []role.Role
	// Call is what the call's booking says of it and of this participant
	// (its kind, whether it is named); the zero value is an ad hoc video call.
	Call call.Admission
}

// SessionConfig is what a session needs from the server.
type SessionConfig struct {
	Engine   *Engine
	Registry *call.Registry
	Gate     Gatekeeper
	Server   string // the name the client dialled if the server's own (trust.ServerName form), else "": the join proof signs it
	Log      *slog.Logger
	Observer Observer // optional: the server's metrics
	// AnswerTimeout is how long a client may take to answer an offer before
	// its session is ended (a client that never answers would otherwise
	// freeze its own negotiation forever). Default DefaultAnswerTimeout.
	AnswerTimeout time.Duration
	// Directory, when set, lets a client resume its session over a new
	// socket (docs/PROTOCOL.md, "Resuming"); without it "resume" is refused.
	Directory *Directory
	// JoinTimeout is how long a connection may stay without completing a
	// join (being admitted, to the call or its lobby) before it is closed
	// with 1008: an idle socket must not hold a session for ever.
	// Default DefaultJoinTimeout.
	JoinTimeout time.Duration
	// WriteTimeout bounds the write of one message to the client; past it
	// the transport is closed. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// ICEServers, when set, issues the TURN relay entries of this session's
	// welcome; revoke is called when the session ends (its credentials then
	// stop working).
	ICEServers func() (servers []protocol.ICEServer, revoke func())
	// DropMedia, a test fault (nil in production): while it returns true
	// for a publisher's side, the packets read from that publisher are
	// dropped before the SFU sees them, as a broken path would lose them
	// (readiness probes' tests turn a line down with it).
	DropMedia func(side string) bool
}

// DefaultJoinTimeout: a client joins as soon as it has the challenge;
// 10 s leaves room for a slow network and a loaded machine.
const DefaultJoinTimeout = 10 * time.Second

// DefaultAnswerTimeout: a browser answers in milliseconds; 15 s leaves room
// for a loaded machine without keeping a dead session for long.
const DefaultAnswerTimeout = 15 * time.Second

func (s *Session) answerTimeout() time.Duration {
	if s.cfg.AnswerTimeout > 0 {
		return s.cfg.AnswerTimeout
	}
	return DefaultAnswerTimeout
}

// Observer is told what signalling sessions forward and how fast media starts.
type Observer interface {
	sfu.Observer
	// FirstMedia: the first packet of a remote track was written to a
	// participant, this long after it joined (or after the track started,
	// if that was later).
	FirstMedia(d time.Duration)
	// JoinTimedOut: a session was closed for not joining in time.
	JoinTimedOut()
	// JoinStep: a participant reached a step of its join (one of
	// JoinSteps), this long after its join message.
	JoinStep(step string, d time.Duration)
}

// Session is one participant's signalling session: its messages, its
// PeerConnection and its membership in a live call (it is the call.Member
// of its participant). All state below "loop state" belongs to the loop
// goroutine; other goroutines talk to it through the queue.
type Session struct {
	cfg  SessionConfig
	conn Conn
	log  *slog.Logger
	q    *queue
	wg   sync.WaitGroup

	id         string               // the participant id, from the start
	who        call.Identity        // fixed at join
	nonce      []byte               // the challenge; used by one join only
	joinedAt   time.Time            // when the join message was handled
	steps      *joinTimer           // times the join's steps from joinedAt
	revokeICE  func()               // ends the relay credentials of the welcome
	line       string               // fixed at join
	callName   string               // fixed at join
	iceServers []protocol.ICEServer // of the welcome

	// loop state
	call           *call.Call
	pc             *webrtc.PeerConnection
	pubs           []*publication
	subs           map[*sfu.Track]*subscription
	slots          slotPool // sendonly transceivers to reuse (reuse.go)
	offerPending   bool
	answerDeadline <-chan time.Time // set while an offer is outstanding
	needOffer      bool
	iceRestart     bool // the next offer restarts ICE (the client asked: restart_ice)
	candidates     []webrtc.ICECandidateInit
	// forward: this socket resumed another session (resume.go); its
	// messages go there, and this session does nothing else.
	forward *Session
}

// Events queued to the loop.
type (
	evMessage struct {
		msg any
		typ string
	}
	evEnd struct {
		reason CloseReason
		why    string
		conn   Conn // set by a reader: its socket ended (ignored once replaced)
	}
	evSubscribe struct{ pub call.Publication }
	evUnsub     struct{ pub call.Publication }
	evRoster    struct{ roster protocol.Roster }
	evKey       struct{ k protocol.Key }
	evRemoved   struct{ by string }
	evEnded     struct{ by, why string }
	evTrack     struct {
		remote   *webrtc.TrackRemote
		receiver *webrtc.RTPReceiver
	}
	evCandidate struct{ c *webrtc.ICECandidate }
	evConnState struct{ state webrtc.PeerConnectionState }
)

// Serve runs a session on conn until the participant leaves, the transport
// or the PeerConnection fails, or ctx is cancelled. It returns once every
// goroutine of the session has ended.
func Serve(ctx context.Context, conn Conn, cfg SessionConfig) {
	s := &Session{
		cfg:  cfg,
		conn: conn,
		log:  cfg.Log,
		q:    newQueue(),
		subs: make(map[*sfu.Track]*subscription),
		id:   newID(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("participant", s.id)
	s.nonce = make([]byte, 32)
	_, _ = rand.Read(s.nonce)
	s.send(protocol.Challenge{Type: protocol.TypeChallenge, Version: protocol.Version, Nonce: base64.RawURLEncoding.EncodeToString(s.nonce)})
	// The reader's context is not ctx: a WebSocket read whose context is
	// cancelled drops the connection at once, and the client would then never
	// see the close status that teardown sends (going away, policy, ...).
	rctx, stopReader := context.WithCancel(context.Background())
	s.wg.Go(func() { s.readLoop(rctx, conn) })
	reason, why := s.loop(ctx)
	s.teardown(reason, why) // closes the transport, which ends the reader
	stopReader()
	s.wg.Wait()
}

// Subscribe implements call.Member.
func (s *Session) Subscribe(p call.Publication) { s.q.push(evSubscribe{p}) }

// Unsubscribe implements call.Member.
func (s *Session) Unsubscribe(p call.Publication) { s.q.push(evUnsub{p}) }

// RosterChanged implements call.Member.
func (s *Session) RosterChanged(r protocol.Roster) { s.q.push(evRoster{r}) }

// DeliverKey implements call.Member.
func (s *Session) DeliverKey(k protocol.Key) { s.q.push(evKey{k}) }

// Removed implements call.Member.
func (s *Session) Removed(by string) { s.q.push(evRemoved{by}) }

// Ended implements call.Member.
func (s *Session) Ended(by, why string) { s.q.push(evEnded{by, why}) }

// readLoop reads, rate-limits and decodes client messages. Errors in a
// message are answered here; only valid messages reach the loop.
func (s *Session) readLoop(ctx context.Context, conn Conn) {
	lim := rate.NewLimiter(rateLimit, rateBurst)
	refusals := 0
	for {
		data, err := conn.Read(ctx)
		if err != nil {
			s.q.push(evEnd{CloseError, whyTransport + err.Error(), conn})
			return
		}
		if !lim.Allow() {
			refusals++
			s.replyError(conn, protocol.CodeRateLimited, "", "more than %d messages per second", rateLimit)
			if refusals >= maxRefusals {
				s.q.push(evEnd{ClosePolicy, "rate limit exceeded", conn})
				return
			}
			continue
		}
		msg, err := protocol.Decode(data)
		if err != nil {
			var pe *protocol.Error
			if errors.As(err, &pe) {
				s.replyError(conn, pe.Code, refOf(data), "%s", pe.Message)
				if pe.Code == protocol.CodeVersion {
					// PROTOCOL.md: a version error closes the connection (1008).
					s.q.push(evEnd{ClosePolicy, "unsupported version", conn})
					return
				}
			}
			continue
		}
		s.q.push(evMessage{msg, refOf(data)})
	}
}

// refOf extracts a message's type for an error's "ref", when it has a sane one.
func refOf(data []byte) string {
	var env protocol.Envelope
	if json.Unmarshal(data, &env) != nil || protocol.ValidID("type", env.Type) != nil {
		return ""
	}
	return env.Type
}

func (s *Session) loop(ctx context.Context) (CloseReason, string) {
	joinTimeout := s.cfg.JoinTimeout
	if joinTimeout <= 0 {
		joinTimeout = DefaultJoinTimeout
	}
	joinTimer := time.NewTimer(joinTimeout)
	defer joinTimer.Stop()
	for {
		// A session that joined, or a socket that resumed another session
		// (it carries that session's signalling from then on), is past the
		// join: only a socket that has done neither is timed out.
		joinDeadline := joinTimer.C
		if s.call != nil || s.forward != nil {
			joinDeadline = nil
		}
		select {
		case <-ctx.Done():
			return CloseGoingAway, "server shutting down"
		case <-joinDeadline:
			if s.cfg.Observer != nil {
				s.cfg.Observer.JoinTimedOut()
			}
			return ClosePolicy, fmt.Sprintf("no join within %v", joinTimeout)
		case <-s.answerDeadline:
			s.sendError(protocol.CodeState, protocol.TypeOffer, "no answer to the offer within %v", s.answerTimeout())
			return CloseError, "no answer to an offer"
		case <-s.q.notify:
		}
		// The first offer goes out with the welcome, before the
		// subscriptions the join queued: ICE and DTLS start one round trip
		// earlier, and the tracks of the members already in the call come in
		// the next offer, negotiated while they connect (docs/PROTOCOL.md,
		// "After join"; measured in docs/PERFORMANCE.md, "Join").
		if end := s.handleQueued(); end != nil {
			return end.reason, end.why
		}
		s.maybeOffer()
	}
}

// handleQueued handles every event queued so far, in order; a non-nil
// result ends the session.
func (s *Session) handleQueued() *evEnd {
	evs, overflowed := s.q.drain()
	if overflowed {
		return &evEnd{CloseError, "session fell too far behind", nil}
	}
	for _, ev := range evs {
		if end, ok := ev.(evEnd); ok {
			if end.conn != nil && end.conn != s.conn {
				continue // the reader of a socket that a resumption replaced
			}
			if s.forward != nil && end.conn != nil {
				s.forward.q.push(end) // the resumed session's socket ended
			}
			return &end
		}
		if end := s.handle(ev); end != nil {
			return end
		}
	}
	return nil
}

func (s *Session) handle(ev any) *evEnd {
	switch ev := ev.(type) {
	case evMessage:
		return s.handleMessage(ev.msg, ev.typ)
	case evSubscribe:
		s.subscribe(ev.pub)
	case evUnsub:
		s.unsubscribe(ev.pub)
	case evRoster:
		// The call sends the roster after the subscriptions it describes:
		// their offer follows at once (docs/PROTOCOL.md, "After join"), before
		// anything queued behind it, such as a key from a member who saw the
		// same roster and answered faster than this loop got here.
		s.send(ev.roster)
		s.maybeOffer()
	case evKey:
		k := ev.k
		k.Type = protocol.TypeKey
		s.send(k)
		s.steps.reached(3)
	case evRemoved:
		s.sendError(protocol.CodeRemoved, "", "removed from the call by %s", ev.by)
		return &evEnd{CloseNormal, "removed by " + ev.by, nil}
	case evEnded:
		// PROTOCOL.md, "End of a call": the reason first, then the close
		// status that tells the client not to rejoin.
		s.send(protocol.Ended{Type: protocol.TypeEnded, By: ev.by, Reason: ev.why})
		return &evEnd{CloseEnded, "call ended by " + ev.by, nil}
	case evTrack:
		s.trackArrived(ev.remote, ev.receiver)
	case evCandidate:
		init := ev.c.ToJSON()
		s.send(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: protocol.ICEInit{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex, UsernameFragment: init.UsernameFragment}})
	case evConnState:
		if ev.state == webrtc.PeerConnectionStateFailed || ev.state == webrtc.PeerConnectionStateClosed {
			return &evEnd{CloseError, "connection " + ev.state.String(), nil}
		}
	case evResume:
		s.resumed(ev)
	}
	return nil
}

func (s *Session) handleMessage(msg any, typ string) *evEnd {
	if s.forward != nil {
		s.forward.q.push(evMessage{msg, typ})
		return nil
	}
	if _, isJoin := msg.(*protocol.Join); !isJoin && s.call == nil {
		s.sendError(protocol.CodeState, typ, "join first")
		return nil
	}
	switch m := msg.(type) {
	case *protocol.Join:
		return s.join(m)
	case *protocol.Publish:
		s.publish(m.Tracks)
	case *protocol.Unpublish:
		s.unpublish(m.Track)
	case *protocol.SDP:
		s.answer(m.SDP)
	case *protocol.Candidate:
		s.remoteCandidate(m.Candidate)
	case *protocol.Key:
		// A key message not between key members is dropped without a
		// word: it may have crossed a move of either end (PROTOCOL.md,
		// "Keys follow the media").
		if err := s.call.RelayKey(s.id, *m); err != nil && !errors.Is(err, call.ErrNotKeyed) {
			s.sendError(protocol.CodeRefused, typ, "%v", err)
		}
	case *protocol.ParticipantAction:
		act := map[string]func(string, string) error{
			protocol.TypeRemove: s.call.Remove, protocol.TypeAdmit: s.call.Admit,
			protocol.TypeCallIn: s.call.CallIn, protocol.TypeSendOut: s.call.SendOut,
		}[m.Type]
		if err := act(s.id, m.Participant); err != nil {
			s.sendError(errorCode(err), typ, "%v", err)
		}
	case *protocol.Interpretation, *protocol.Interpret, *protocol.Listen, *protocol.BoothAction:
		s.interpretation(m, typ)
	case *protocol.Keyframe:
		s.keyframe(m.Participant)
	case *protocol.RestartICE:
		// The next offer (now, or after the answer to the outstanding one)
		// restarts ICE; requests in between are merged into it.
		s.iceRestart, s.needOffer = true, true
	case *protocol.Leave:
		return &evEnd{CloseNormal, "left", nil}
	}
	return nil
}

// teardown leaves the call and frees everything; others see our tracks end.
func (s *Session) teardown(reason CloseReason, why string) {
	if s.revokeICE != nil {
		s.revokeICE()
	}
	if s.call != nil {
		if s.cfg.Directory != nil {
			s.cfg.Directory.remove(s)
		}
		s.call.Leave(s.id)
	}
	for _, sub := range s.subs {
		sub.down.Close()
	}
	for _, p := range s.pubs {
		if p.track != nil {
			p.track.Close()
		}
	}
	if s.pc != nil {
		if err := s.pc.Close(); err != nil {
			s.log.Warn("close peer connection", "err", err)
		}
	}
	_ = s.conn.Close(reason, why)
	// A failure of the session itself (no answer, fell behind, media
	// failed) is worth a warning; a socket or a connection that ended
	// (a page closed, the network) is the client's or the network's
	// doing, and the client resumes or rejoins.
	if s.call != nil && reason == CloseError && !endedByPeer(why) {
		s.log.Warn("left on an error", "why", why)
	} else if s.call != nil {
		s.log.Info("left", "why", why)
	}
}

// whyTransport begins the reason of a session whose socket ended.
const whyTransport = "transport: "

// endedByPeer: the session ended because its socket or its PeerConnection
// closed (the client or the network did it), not on a failure of its own.
func endedByPeer(why string) bool {
	return strings.HasPrefix(why, whyTransport) || why == "connection "+webrtc.PeerConnectionStateClosed.String()
}

func (s *Session) send(v any) { s.sendOn(s.conn, v) }

func (s *Session) sendOn(conn Conn, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Error("marshal", "err", err)
		return
	}
	wt := s.cfg.WriteTimeout
	if wt <= 0 {
		wt = DefaultWriteTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), wt)
	defer cancel()
	if err := conn.Write(ctx, data); err != nil {
		s.log.Debug("write", "err", err)
	}
}

func (s *Session) sendError(code, ref, format string, args ...any) {
	s.send(protocol.ErrorMsg{Type: protocol.TypeError, Code: code, Message: fmt.Sprintf(format, args...), Ref: ref})
}

// replyError sends an error on one socket, from its reader (which must not
// read s.conn: the loop replaces it when a session resumes).
func (s *Session) replyError(conn Conn, code, ref, format string, args ...any) {
	s.sendOn(conn, protocol.ErrorMsg{Type: protocol.TypeError, Code: code, Message: fmt.Sprintf(format, args...), Ref: ref})
}

// observer returns the configured observer as an sfu.Observer, or a nil
// interface (not a typed nil) when there is none.
func (s *Session) observer() sfu.Observer {
	if s.cfg.Observer == nil {
		return nil
	}
	return s.cfg.Observer
}

// errorCode maps the call's refusals to protocol error codes.
func errorCode(err error) string {
	if errors.Is(err, call.ErrForbidden) || errors.Is(err, call.ErrPhoneCall) || errors.Is(err, call.ErrUnknownLanguage) {
		return protocol.CodeForbidden
	}
	return protocol.CodeRefused
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
