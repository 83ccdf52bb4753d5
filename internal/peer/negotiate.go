package peer

// Negotiation: the server always offers (docs/PROTOCOL.md), one offer at a
// time; the client answers and trickles candidates.

import (
	"time"

	"github.com/pion/webrtc/v4"

	"hotline/internal/protocol"
)

// maybeOffer sends one offer covering every change since the last, unless
// one is already outstanding (docs/PROTOCOL.md: the server always offers).
func (s *Session) maybeOffer() {
	if s.pc == nil || s.offerPending || !s.needOffer {
		return
	}
	s.needOffer = false
	if len(s.pc.GetTransceivers()) == 0 {
		return
	}
	var opts *webrtc.OfferOptions
	if s.iceRestart {
		// RFC 8839 §4.4.1.1.1: new ufrag and password; both agents gather
		// again and check the new pairs, while the DTLS association, the
		// SRTP keys and every transceiver stay.
		opts = &webrtc.OfferOptions{ICERestart: true}
		s.iceRestart = false
		s.log.Info("ICE restart requested by the client")
	}
	offer, err := s.pc.CreateOffer(opts)
	if err == nil {
		err = s.pc.SetLocalDescription(offer)
	}
	if err != nil {
		s.log.Error("offer", "err", err)
		s.sendError(protocol.CodeInternal, "", "server could not create an offer")
		return
	}
	msg := protocol.SDP{Type: protocol.TypeOffer, SDP: offer.SDP, Send: []protocol.SendMid{}, Receive: []protocol.ReceiveMid{}}
	for _, p := range s.pubs {
		msg.Send = append(msg.Send, protocol.SendMid{Mid: p.tr.Mid(), Track: p.info.ID})
	}
	for _, sub := range s.subs {
		msg.Receive = append(msg.Receive, protocol.ReceiveMid{
			Mid: sub.slot.tr.Mid(), Participant: sub.pub.Publisher, Name: sub.pub.PublisherName,
			Track: sub.pub.Info.ID, Kind: sub.pub.Info.Kind, Source: sub.pub.Info.Source,
			Language: sub.pub.Info.Language,
		})
	}
	s.slotsOffered()
	s.offerPending = true
	s.answerDeadline = time.After(s.answerTimeout())
	s.send(msg)
}

func (s *Session) answer(sdp string) {
	if !s.offerPending {
		s.sendError(protocol.CodeState, protocol.TypeAnswer, "no offer is outstanding")
		return
	}
	err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	s.offerPending = false
	s.answerDeadline = nil
	s.slotsAnswered(err == nil)
	if err != nil {
		// Undo our offer so the next one starts from a stable state.
		_ = s.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		s.needOffer = true
		s.sendError(protocol.CodeBadMessage, protocol.TypeAnswer, "answer rejected: %v", err)
		return
	}
	s.steps.reached(0)
	for _, c := range s.candidates {
		if err := s.pc.AddICECandidate(c); err != nil {
			s.sendError(protocol.CodeBadMessage, protocol.TypeCandidate, "candidate rejected: %v", err)
		}
	}
	s.candidates = nil
}

func (s *Session) remoteCandidate(c protocol.ICEInit) {
	if c.Candidate == "" {
		return // end of candidates
	}
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	// Held until the answer while an offer is outstanding: a client gathers
	// as it applies its answer and may trickle before sending it, and after
	// an ICE restart those candidates belong to credentials that only the
	// answer brings.
	if s.pc.RemoteDescription() == nil || s.offerPending {
		if len(s.candidates) >= maxCandidates {
			s.sendError(protocol.CodeRefused, protocol.TypeCandidate, "more than %d candidates before the answer", maxCandidates)
			return
		}
		s.candidates = append(s.candidates, init)
		return
	}
	if err := s.pc.AddICECandidate(init); err != nil {
		s.sendError(protocol.CodeBadMessage, protocol.TypeCandidate, "candidate rejected: %v", err)
	}
}
