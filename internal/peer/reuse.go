package peer

// Reused m-lines (docs/PROTOCOL.md, "Reused m-lines"): a subscription's
// sendonly transceiver outlives the subscription. When the track ends, its
// sender carries an sfu.Idle track and the next offer no longer lists the
// mid in its receive table; once the client has answered that offer, the
// transceiver is free, and the next subscription of the same kind takes it
// instead of adding an m-line. Its RTPSender (and so its SSRC) is kept:
// Pion makes new senders only with the PeerConnection's own API, through
// AddTrack, which would take a publication's recvonly transceiver instead.

import (
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"hotline/internal/sfu"
)

// sendSlot is one sendonly transceiver and the copy its sender carries now.
type sendSlot struct {
	tr     *webrtc.RTPTransceiver
	sender *webrtc.RTPSender
	cur    atomic.Pointer[sfu.DownTrack] // nil while free
	last   sfu.Handover                  // where the previous copy stopped
}

// slotPool holds the slots of ended subscriptions, by how far their
// renegotiation has gone.
type slotPool struct {
	ending  []*sendSlot // ended since the last offer
	offered []*sendSlot // left out of the outstanding offer
	free    []*sendSlot // ended at both ends: free to reuse
	// held: reused slots whose copy waits for the answer to the offer that
	// names it (sfu.DownTrack.Hold); pending while that offer is outstanding.
	held, pending []*sendSlot
}

// subscribeOn gives down a sendonly transceiver: a free one of its kind, or a
// new one.
func (s *Session) subscribeOn(down *sfu.DownTrack) (*sendSlot, error) {
	// Any ended slot will do: the client applies offers in order, so it
	// learns that the mid's track ended (or changed owner, when both happen
	// between two offers) before the new copy's packets flow, which is once
	// it has answered the offer naming the new track (Hold).
	for _, list := range []*[]*sendSlot{&s.slots.free, &s.slots.offered, &s.slots.ending} {
		for _, sl := range *list {
			if sl.tr.Kind() != down.Kind() {
				continue
			}
			down.Continue(sl.last)
			down.Hold()
			sl.cur.Store(down)
			// ReplaceTrack on a sender that has sent binds down at once.
			if err := sl.sender.ReplaceTrack(down); err != nil {
				sl.cur.Store(nil)
				return nil, err
			}
			*list = without(*list, sl)
			s.slots.held = append(s.slots.held, sl)
			return sl, nil
		}
	}
	// A transceiver of its own, sendonly: AddTrack would reuse one of the
	// participant's receiving transceivers of the same kind and turn it
	// sendrecv, breaking the one-purpose-per-mid contract of the offer tables.
	tr, err := s.pc.AddTransceiverFromTrack(down, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	sl := &sendSlot{tr: tr, sender: tr.Sender()}
	sl.cur.Store(down)
	s.wg.Go(func() { sfu.ServeSenderRTCP(sl.sender, sl.cur.Load) })
	return sl, nil
}

// release ends the slot's copy; the slot is free once the client has
// answered an offer without it.
func (s *Session) release(sl *sendSlot) error {
	down := sl.cur.Swap(nil)
	if down != nil {
		sl.last = down.Last()
	}
	s.slots.held = without(s.slots.held, sl)
	s.slots.pending = without(s.slots.pending, sl)
	if err := sl.sender.ReplaceTrack(sfu.NewIdle("idle"+sl.tr.Mid(), sl.tr.Kind())); err != nil {
		return err
	}
	s.slots.ending = append(s.slots.ending, sl)
	return nil
}

// offered: an offer was sent.
func (s *Session) slotsOffered() {
	s.slots.offered = append(s.slots.offered, s.slots.ending...)
	s.slots.ending = nil
	s.slots.pending = append(s.slots.pending, s.slots.held...)
	s.slots.held = nil
}

// answered: the outstanding offer was answered (ok) or rolled back.
func (s *Session) slotsAnswered(ok bool) {
	if ok {
		s.slots.free = append(s.slots.free, s.slots.offered...)
		for _, sl := range s.slots.pending {
			if d := sl.cur.Load(); d != nil {
				d.Release()
			}
		}
	} else {
		s.slots.ending = append(s.slots.ending, s.slots.offered...)
		s.slots.held = append(s.slots.held, s.slots.pending...)
	}
	s.slots.offered, s.slots.pending = nil, nil
}

func without(list []*sendSlot, sl *sendSlot) []*sendSlot {
	for i, x := range list {
		if x == sl {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}
