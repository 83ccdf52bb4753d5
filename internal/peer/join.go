package peer

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"

	"hotline/internal/call"
	"hotline/internal/protocol"
	"hotline/internal/role"
)

// join admits a session into its call: credential and proof through the
// gate, the call's membership, the welcome.
func (s *Session) join(m *protocol.Join) *evEnd {
	if s.call != nil {
		s.sendError(protocol.CodeState, m.Type, "already joined")
		return nil
	}
	if m.Version != protocol.Version {
		s.sendError(protocol.CodeVersion, m.Type, "protocol version %d is not supported; this server speaks %d", m.Version, protocol.Version)
		return &evEnd{ClosePolicy, "unsupported version", nil}
	}
	// Authentication comes before anything else: a refused client gets no
	// roster, no offer and no media, and nothing about it is stored.
	if s.nonce == nil {
		s.sendError(protocol.CodeUnauthorized, m.Type, "the challenge was already used")
		return &evEnd{ClosePolicy, "challenge reused", nil}
	}
	nonce := s.nonce
	s.nonce = nil // one join per challenge
	if s.cfg.Gate == nil {
		s.sendError(protocol.CodeUnauthorized, m.Type, "this server admits nobody (no gatekeeper configured)")
		return &evEnd{ClosePolicy, "no gatekeeper", nil}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	who, err := s.cfg.Gate.Admit(ctx, nonce, s.cfg.Server, m)
	cancel()
	if err != nil {
		s.log.Info("join refused", "line", m.Line, "call", m.Call, "err", err)
		s.sendError(protocol.CodeUnauthorized, m.Type, "%v", err)
		return &evEnd{ClosePolicy, "unauthorized", nil}
	}
	if m.Resume != "" {
		return s.resume(m, who)
	}
	s.who = call.Identity{ID: s.id, Name: who.Name, Device: who.Device, Credential: m.Credential,
		Side: who.Side, Roles: who.Roles, Admission: who.Call}
	// What the roles and the call's kind allow is checked before anything
	// is set up: a monitor declaring a camera, or a camera in a phone call,
	// is refused outright.
	tracks, err := call.CheckTracks(s.who.Roles, s.who.Admission.Kind, m.Tracks)
	if err != nil {
		s.sendError(errorCode(err), m.Type, "%v", err)
		return &evEnd{CloseNormal, "join refused: " + err.Error(), nil}
	}
	m.Tracks = tracks
	if s.who.Interprets, err = call.ChannelOf(tracks); err != nil {
		s.sendError(errorCode(err), m.Type, "%v", err)
		return &evEnd{CloseNormal, "join refused: " + err.Error(), nil}
	}
	pc, err := s.cfg.Engine.NewPeerConnection()
	if err != nil {
		s.sendError(protocol.CodeInternal, m.Type, "cannot create a peer connection")
		return &evEnd{CloseError, err.Error(), nil}
	}
	s.pc = pc
	s.joinedAt = time.Now()
	steps := newJoinTimer(s.cfg.Observer, s.joinedAt)
	s.steps = steps
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			steps.reached(1)
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			s.q.push(evCandidate{c})
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) { s.q.push(evTrack{t, r}) })
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			steps.reached(2)
		}
		s.q.push(evConnState{st})
	})
	if err := s.addPublications(m.Tracks); err != nil {
		s.sendError(protocol.CodeRefused, m.Type, "%v", err)
		return &evEnd{CloseError, err.Error(), nil}
	}
	// Calls are named within their line ("line/call" cannot be ambiguous:
	// neither name may contain a slash).
	c, err := s.cfg.Registry.Join(m.Line+"/"+m.Call, s.who, s)
	if err != nil {
		s.sendError(joinErrorCode(err), m.Type, "%v", err)
		return &evEnd{CloseNormal, "join refused: " + err.Error(), nil}
	}
	s.call = c
	s.line, s.callName = m.Line, m.Call
	if s.cfg.Directory != nil {
		s.cfg.Directory.add(s)
	}
	s.log = s.log.With("line", m.Line, "call", m.Call)
	s.log.Info("joined", "name", s.who.Name, "device", s.who.Device, "roles", who.Roles, "tracks", len(m.Tracks))
	welcome := protocol.Welcome{Type: protocol.TypeWelcome, Version: protocol.Version, ID: s.id, Line: m.Line, Call: m.Call, May: role.May(s.who.Roles)}
	if s.cfg.ICEServers != nil {
		welcome.ICEServers, s.revokeICE = s.cfg.ICEServers()
	}
	s.iceServers = welcome.ICEServers // sent again if the session resumes
	s.send(welcome)
	return nil
}
