package peer

// Resuming a session over a new socket (docs/PROTOCOL.md, "Resuming"): a
// client whose signalling socket died (a network change takes the TCP
// connection along) connects again and joins with "resume" naming its
// participant id. The gate checks the credential and the proof over the new
// challenge as for any join; if the device's session is still here, the new
// socket takes the place of the old one and the session carries on: same
// participant id, PeerConnection, tracks, keys and membership. Nobody else
// sees anything but media that paused.

import (
	"sync"

	"github.com/pion/webrtc/v4"

	"hotline/internal/protocol"
	"hotline/internal/role"
)

// Directory finds the joined sessions of a server by participant id.
type Directory struct {
	mu sync.Mutex
	m  map[string]*Session
}

// NewDirectory makes an empty directory.
func NewDirectory() *Directory { return &Directory{m: make(map[string]*Session)} }

func (d *Directory) add(s *Session) {
	d.mu.Lock()
	d.m[s.id] = s
	d.mu.Unlock()
}

func (d *Directory) remove(s *Session) {
	d.mu.Lock()
	if d.m[s.id] == s {
		delete(d.m, s.id)
	}
	d.mu.Unlock()
}

func (d *Directory) find(id string) *Session {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[id]
}

// evResume: a new socket (read by the carrier session) takes over this
// session's signalling.
type evResume struct {
	conn    Conn
	carrier *Session
}

// resume hands this socket to the session that m.Resume names, once the
// gate has admitted the device (who). This session becomes a carrier: its
// reader's messages go to that session (handleMessage), and it ends when
// the socket does.
func (s *Session) resume(m *protocol.Join, who Admitted) *evEnd {
	var target *Session
	if s.cfg.Directory != nil {
		target = s.cfg.Directory.find(m.Resume)
	}
	// The ids are the server's own (random, 64 bits), but the device check
	// is what makes this safe: only the device that owns a session can
	// prove possession of its key over this socket's challenge.
	if target == nil || target.who.Device != who.Device || target.line != m.Line || target.callName != m.Call {
		s.sendError(protocol.CodeRefused, m.Type, "no session %s of this device in this call to resume; join afresh", m.Resume)
		return &evEnd{CloseNormal, "nothing to resume", nil}
	}
	s.forward = target
	s.log = s.log.With("resumes", target.id)
	target.q.push(evResume{conn: s.conn, carrier: s})
	return nil
}

// resumed: the session's signalling moves to ev.conn. What was sent on the
// old socket since it died is lost, so the state is sent again: welcome,
// the roster, and an offer that restarts ICE (the client's address has
// probably changed), made afresh if one was outstanding.
func (s *Session) resumed(ev evResume) {
	old := s.conn
	s.conn = ev.conn
	s.wg.Go(func() { _ = old.Close(CloseNormal, "resumed on another connection") })
	s.log.Info("session resumed on a new connection")
	s.send(protocol.Welcome{Type: protocol.TypeWelcome, Version: protocol.Version, ID: s.id, Line: s.line, Call: s.callName,
		May: role.May(s.who.Roles), ICEServers: s.iceServers, Resumed: true})
	s.send(s.call.Roster())
	if s.offerPending {
		// Its answer may never come: take the offer back and make a new one.
		if err := s.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
			s.log.Warn("roll back the outstanding offer", "err", err)
		}
		s.offerPending, s.answerDeadline = false, nil
	}
	s.candidates = nil
	s.iceRestart, s.needOffer = true, true
}
