package peer

// The media side of a session: what the participant publishes (receiving
// transceivers, then sfu.Tracks offered to the call) and what it receives
// (one sendonly transceiver per subscription).

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"hotline/internal/call"
	"hotline/internal/protocol"
	"hotline/internal/sfu"
)

type publication struct {
	info  protocol.TrackInfo
	tr    *webrtc.RTPTransceiver
	track *sfu.Track // set when media arrives
}

type subscription struct {
	pub    call.Publication
	down   *sfu.DownTrack
	sender *webrtc.RTPSender
	tr     *webrtc.RTPTransceiver
}

var (
	errTooManyTracks = errors.New("too many tracks")
	errTrackInUse    = errors.New("track id already in use")
)

// addPublications prepares a receiving transceiver for each announced track.
func (s *Session) addPublications(ts []protocol.TrackInfo) error {
	if len(s.pubs)+len(ts) > protocol.MaxTracks {
		return fmt.Errorf("%w: at most %d", errTooManyTracks, protocol.MaxTracks)
	}
	for _, t := range ts {
		if s.findPub(t.ID) != nil {
			return fmt.Errorf("%w: %q", errTrackInUse, t.ID)
		}
	}
	for _, t := range ts {
		kind := webrtc.RTPCodecTypeAudio
		if t.Kind == protocol.KindVideo {
			kind = webrtc.RTPCodecTypeVideo
		}
		tr, err := s.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return fmt.Errorf("transceiver: %w", err)
		}
		s.pubs = append(s.pubs, &publication{info: t, tr: tr})
		s.needOffer = true
	}
	return nil
}

func (s *Session) findPub(id string) *publication {
	for _, p := range s.pubs {
		if p.info.ID == id {
			return p
		}
	}
	return nil
}

func (s *Session) publish(ts []protocol.TrackInfo) {
	ts, err := call.CheckTracks(s.who.Roles, s.who.Admission.Kind, ts)
	if err == nil {
		err = s.call.CheckChannels(s.id, ts)
	}
	if err != nil {
		s.sendError(errorCode(err), protocol.TypePublish, "%v", err)
		return
	}
	if err := s.addPublications(ts); err != nil {
		s.sendError(protocol.CodeRefused, protocol.TypePublish, "%v", err)
	}
}

func (s *Session) unpublish(id string) {
	p := s.findPub(id)
	if p == nil {
		s.sendError(protocol.CodeRefused, protocol.TypeUnpublish, "no published track %q", id)
		return
	}
	for i, x := range s.pubs {
		if x == p {
			s.pubs = append(s.pubs[:i], s.pubs[i+1:]...)
			break
		}
	}
	if p.track != nil {
		if err := s.call.Unpublish(s.id, id); err != nil {
			s.log.Warn("unpublish", "track", id, "err", err)
		}
	}
	// Stopping the transceiver stops its receiver, which ends the track's read loop.
	if err := p.tr.Stop(); err != nil {
		s.log.Warn("stop transceiver", "err", err)
	}
	s.needOffer = true
}

// trackArrived: media arrived on one of our receiving transceivers; start
// forwarding it and offer it to the call.
func (s *Session) trackArrived(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	var p *publication
	for _, x := range s.pubs {
		if x.tr.Receiver() == receiver {
			p = x
		}
	}
	if p == nil || p.track != nil || s.call == nil {
		return // unpublished meanwhile, or not ours; its receiver is stopped with the transceiver
	}
	if remote.Kind().String() != p.info.Kind {
		s.sendError(protocol.CodeRefused, "", "track %q announced as %s carries %s", p.info.ID, p.info.Kind, remote.Kind())
		return
	}
	pc := s.pc
	ssrc := uint32(remote.SSRC())
	var src sfu.Source = remote
	if drop := s.cfg.DropMedia; drop != nil {
		side := s.who.Side
		src = faultySource{remote, func() bool { return drop(side) }}
	}
	t := sfu.NewTrack(sfu.TrackConfig{
		ID:       s.id + "." + p.info.ID,
		StreamID: s.id,
		Codec:    remote.Codec(),
		Source:   src,
		Observer: s.observer(),
		RequestKeyframe: func() {
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
		},
	})
	p.track = t
	s.wg.Go(func() { _ = t.Run() })
	s.wg.Go(func() {
		// Reading RTCP lets the interceptors see the publisher's sender reports.
		buf := make([]byte, 1500)
		for {
			if _, _, err := receiver.Read(buf); err != nil {
				return
			}
		}
	})
	if err := s.call.Publish(s.id, p.info, t); err != nil {
		s.log.Warn("publish", "track", p.info.ID, "err", err)
		t.Close()
	}
}

func (s *Session) subscribe(pub call.Publication) {
	if s.pc == nil || s.subs[pub.Track] != nil {
		return
	}
	var onFirst func()
	if obs := s.cfg.Observer; obs != nil {
		from := s.joinedAt
		if st := pub.Track.Started(); st.After(from) {
			from = st
		}
		onFirst = func() { obs.FirstMedia(time.Since(from)) }
	}
	down := pub.Track.NewDownTrack(onFirst)
	// A transceiver of its own, sendonly: AddTrack would reuse one of the
	// participant's receiving transceivers of the same kind and turn it
	// sendrecv, breaking the one-purpose-per-mid contract of the offer tables.
	tr, err := s.pc.AddTransceiverFromTrack(down, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		s.log.Warn("subscribe", "track", pub.Track.ID(), "err", err)
		return
	}
	sender := tr.Sender()
	s.subs[pub.Track] = &subscription{pub: pub, down: down, sender: sender, tr: tr}
	s.wg.Go(func() { down.ServeRTCP(sender) })
	s.needOffer = true
}

func (s *Session) unsubscribe(pub call.Publication) {
	sub := s.subs[pub.Track]
	if sub == nil {
		return
	}
	delete(s.subs, pub.Track)
	sub.down.Close()
	if err := s.pc.RemoveTrack(sub.sender); err != nil {
		s.log.Warn("unsubscribe", "track", pub.Track.ID(), "err", err)
	}
	s.needOffer = true
}

// faultySource drops the packets read while drop says so
// (SessionConfig.DropMedia, a test fault).
type faultySource struct {
	sfu.Source
	drop func() bool
}

func (f faultySource) Read(b []byte) (int, interceptor.Attributes, error) {
	for {
		n, a, err := f.Source.Read(b)
		if err != nil || !f.drop() {
			return n, a, err
		}
	}
}
