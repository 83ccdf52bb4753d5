package client

import (
	"errors"
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"hotline/internal/protocol"
)

// maxPendingCandidates bounds the candidates held before the first offer.
const maxPendingCandidates = 64

// handleOffer answers one server offer (PROTOCOL.md "Who offers"): apply it,
// note which received tracks started or ended, put each local track on the
// transceiver the send table names, answer.
func (c *Client) handleOffer(m *protocol.SDP) error {
	c.offerArrived()
	answer, err := c.answerOffer(m)
	if err != nil {
		return err
	}
	if err := c.out(c.ctx, protocol.SDP{Type: protocol.TypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("client: send answer: %w", err)
	}
	return nil
}

// answerOffer does the work of handleOffer and returns the answer's SDP.
func (c *Client) answerOffer(m *protocol.SDP) (string, error) {
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}
	// An offer may restart ICE after the host's addresses changed: gather
	// on the addresses it has now.
	if c.net != nil {
		if err := c.net.refresh(); err != nil {
			c.log.Warn("network interfaces", "err", err)
		}
	}
	if err := c.pc.SetRemoteDescription(offer); err != nil {
		return "", fmt.Errorf("client: apply offer: %w", err)
	}
	c.haveRemote = true
	c.flushCandidates()
	c.updateReceiving(m.Receive)
	for _, s := range m.Send {
		if err := c.attach(s); err != nil {
			// One bad entry should not stop the others or the answer.
			c.log.Error("send table entry", "mid", s.Mid, "track", s.Track, "err", err)
		}
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("client: create answer: %w", err)
	}
	if err := checkSendDirections(answer.SDP, c.sendingMids(m.Send)); err != nil {
		// Answer anyway, so that the server is not left waiting, but make it
		// loud: either Pion changed behaviour or the server broke the contract.
		c.log.Error("answer directions", "err", err)
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("client: apply answer: %w", err)
	}
	return answer.SDP, nil
}

// attach puts the local track s.Track on the transceiver with mid s.Mid.
// Pion's AddTrack would pick a transceiver by kind; the server assigns the
// mid, so the sender is built by hand and set on exactly that transceiver.
func (c *Client) attach(s protocol.SendMid) error {
	c.mu.Lock()
	lt := c.findLocal(s.Track)
	prev := c.attached[s.Mid]
	c.mu.Unlock()
	if lt == nil {
		return fmt.Errorf("no local track %q (unpublished?)", s.Track)
	}
	if prev == lt {
		return nil // already there from an earlier offer
	}
	if prev != nil {
		return fmt.Errorf("mid already carries track %q", prev.info.ID)
	}
	tr := c.transceiver(s.Mid)
	if tr == nil {
		return fmt.Errorf("the offer has no transceiver with mid %q", s.Mid)
	}
	if tr.Kind().String() != lt.info.Kind {
		return fmt.Errorf("mid is %s, track is %s", tr.Kind(), lt.info.Kind)
	}
	if tr.Sender() != nil {
		return fmt.Errorf("mid already has a sender")
	}
	// The sender must come from the PeerConnection (AddTrack), not from the
	// API: only the PeerConnection's own copy of the API carries the
	// interceptors (the NACK responder, sender reports, transport-wide
	// sequence numbers); a sender made by api.NewRTPSender writes past
	// them, and a NACK would never be answered. AddTrack puts it on the
	// first transceiver of the kind that may send and has no sender (tr is
	// one, so it never makes a new transceiver). A server that lists every
	// published track in every send table (PROTOCOL.md) leaves no other
	// such transceiver before tr; if one is there all the same, it keeps a
	// stopped sender and AddTrack is asked again.
	var skipped []*webrtc.RTPSender
	var sender *webrtc.RTPSender
	for sender == nil {
		added, err := c.pc.AddTrack(lt.track)
		if err != nil {
			return fmt.Errorf("add track: %w", err)
		}
		switch {
		case tr.Sender() == added:
			sender = added
		case len(skipped) == protocol.MaxTracks:
			_ = c.pc.RemoveTrack(added)
			return fmt.Errorf("no sender lands on mid %q", s.Mid)
		default:
			skipped = append(skipped, added)
		}
	}
	for _, x := range skipped {
		if err := c.pc.RemoveTrack(x); err != nil {
			c.log.Warn("stop a misplaced sender", "err", err)
		}
	}
	c.mu.Lock()
	c.attached[s.Mid] = lt
	c.mu.Unlock()
	lt.setSender(s.Mid, sender)
	c.goStart(func() { c.readRTCP(lt, sender) })
	c.log.Debug("attached", "track", lt.info.ID, "mid", s.Mid)
	return nil
}

// transceiver returns the transceiver with the given mid, or nil.
func (c *Client) transceiver(mid string) *webrtc.RTPTransceiver {
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Mid() == mid {
			return tr
		}
	}
	return nil
}

// sendingMids lists the mids of the send table that carry one of our tracks.
func (c *Client) sendingMids(send []protocol.SendMid) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var mids []string
	for _, s := range send {
		if lt := c.attached[s.Mid]; lt != nil && lt.info.ID == s.Track {
			mids = append(mids, s.Mid)
		}
	}
	return mids
}

// Errors of checkSendDirections.
var (
	errNotSending = errors.New("the answer does not send on a mid of the send table")
	errSendrecv   = errors.New("a mid of the send table is sendrecv, not sendonly (PROTOCOL.md: the server offers it recvonly)")
)

// checkSendDirections verifies that every mid in mids is sendonly in the
// answer. The server offers those mids recvonly, so sendonly is the answer
// (RFC 8829 §5.3.1); sendrecv still sends, but means the server offered
// sendrecv, reusing a publishing transceiver to forward someone else's track.
func checkSendDirections(answerSDP string, mids []string) error {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answerSDP); err != nil {
		return fmt.Errorf("parse answer: %w", err)
	}
	dirs := make(map[string]string)
	for _, md := range sd.MediaDescriptions {
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		for _, d := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
			if _, ok := md.Attribute(d); ok {
				dirs[mid] = d
			}
		}
	}
	for _, mid := range mids {
		switch d := dirs[mid]; d {
		case "sendonly":
		case "sendrecv":
			return fmt.Errorf("mid %q: %w", mid, errSendrecv)
		default:
			return fmt.Errorf("mid %q is %q: %w", mid, d, errNotSending)
		}
	}
	return nil
}

// onLocalCandidate trickles a gathered candidate to the server. A nil
// candidate (gathering complete) is not sent: PROTOCOL.md makes the
// end-of-candidates marker optional.
func (c *Client) onLocalCandidate(cand *webrtc.ICECandidate) {
	if cand == nil {
		return
	}
	init := cand.ToJSON()
	msg := protocol.Candidate{Type: protocol.TypeCandidate, Candidate: protocol.ICEInit{
		Candidate:        init.Candidate,
		SDPMid:           init.SDPMid,
		SDPMLineIndex:    init.SDPMLineIndex,
		UsernameFragment: init.UsernameFragment,
	}}
	if err := c.out(c.ctx, msg); err != nil && c.ctx.Err() == nil {
		c.log.Warn("send candidate", "err", err)
	}
}

// handleRemoteCandidate adds a server candidate, or holds it until the first
// offer has been applied (Pion refuses candidates before a remote description).
func (c *Client) handleRemoteCandidate(ci protocol.ICEInit) error {
	if ci.Candidate == "" {
		return nil // end of candidates: nothing to do for Pion
	}
	init := webrtc.ICECandidateInit{
		Candidate:        ci.Candidate,
		SDPMid:           ci.SDPMid,
		SDPMLineIndex:    ci.SDPMLineIndex,
		UsernameFragment: ci.UsernameFragment,
	}
	if !c.haveRemote {
		if len(c.pendingCandidates) == maxPendingCandidates {
			return fmt.Errorf("more than %d candidates before the offer; dropped", maxPendingCandidates)
		}
		c.pendingCandidates = append(c.pendingCandidates, init)
		return nil
	}
	if err := c.pc.AddICECandidate(init); err != nil {
		return fmt.Errorf("add candidate: %w", err)
	}
	return nil
}

func (c *Client) flushCandidates() {
	for _, init := range c.pendingCandidates {
		if err := c.pc.AddICECandidate(init); err != nil {
			c.log.Warn("held candidate", "err", err)
		}
	}
	c.pendingCandidates = nil
}
