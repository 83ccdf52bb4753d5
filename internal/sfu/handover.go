package sfu

// A subscriber's sender may carry one copy after another: when a
// participant leaves, the server keeps its sendonly transceiver, with the
// same sender and SSRC, for the next participant's track of the same kind
// (docs/PROTOCOL.md, "Reused m-lines"), so a long stay does not grow the SDP
// by one m-line per visit. The receiver's SRTP context for that SSRC stays
// too (RFC 3711 §3.3.1: the rollover counter and replay window are kept per
// SSRC), so the new copy continues the old one's sequence numbers and
// timestamps rather than start again from the new publisher's.

import (
	"errors"
	"time"

	"github.com/pion/webrtc/v4"
)

// Handover is where a copy stopped: its newest sequence number and
// timestamp as the subscriber saw them.
type Handover struct {
	Valid     bool // at least one packet was written
	Seq       uint16
	Timestamp uint32
	at        time.Time // when the copy stopped (Last)
	clockRate uint32    // of the next copy (Continue)
}

// gap is the timestamp step from the previous copy's last packet to the
// next copy's first: the wall time between them, so that a receiver's
// jitter estimate sees no jump (RFC 3550 §6.4.1).
func (h Handover) gap() uint32 {
	return uint32(max(time.Since(h.at).Seconds(), 0.02) * float64(h.clockRate))
}

// Last returns where d stopped, for Continue on the next copy.
func (d *DownTrack) Last() Handover {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	h := d.last
	h.at = time.Now()
	return h
}

// Continue makes d carry on from h (the previous copy's Last on the same
// sender): its first packet gets the sequence number after h's, and h's
// timestamp advanced by the time since. Call it before any packet is written.
func (d *DownTrack) Continue(h Handover) {
	h.clockRate = d.track.cfg.Codec.ClockRate
	d.wmu.Lock()
	d.from = h
	d.wmu.Unlock()
}

// Hold keeps a bound copy from writing until Release: the server binds a
// reused sender as it makes the offer, and the subscriber should see the
// new track's packets only once it has applied that offer.
func (d *DownTrack) Hold() { d.held.Store(true) }

// Release lets a held copy write, and asks the publisher for a key frame
// (the one asked for at Bind went by while the copy was held).
func (d *DownTrack) Release() {
	if d.held.Swap(false) {
		d.track.RequestKeyframe()
	}
}

// sourceSeq maps a sequence number the subscriber asks for (a NACK) back to
// the publisher's; false for one before the copy's first packet (it was the
// previous copy's, or never sent).
func (d *DownTrack) sourceSeq(seq uint16) (uint16, bool) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if !d.started {
		return 0, false
	}
	src := seq - d.seqOff
	return src, int16(src-d.firstSrc) >= 0
}

// Idle is a local track that carries nothing. A sender whose copy ended
// carries it until the next copy, so that its SSRC stays declared in the
// offer: a receiver that saw the SSRC undeclared would stop its receiver,
// and stray RTCP for it meanwhile leaves Pion (v4.2.20) unable to start the
// next one.
type Idle struct {
	id   string
	kind webrtc.RTPCodecType
}

// NewIdle makes an idle track of kind; id is its track id in the SDP.
func NewIdle(id string, kind webrtc.RTPCodecType) *Idle { return &Idle{id: id, kind: kind} }

var errNoCodec = errors.New("sfu: no codec negotiated")

// Bind implements webrtc.TrackLocal: any negotiated codec will do.
func (i *Idle) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	if cs := ctx.CodecParameters(); len(cs) > 0 {
		return cs[0], nil
	}
	return webrtc.RTPCodecParameters{}, errNoCodec
}

// Unbind implements webrtc.TrackLocal.
func (i *Idle) Unbind(webrtc.TrackLocalContext) error { return nil }

// ID implements webrtc.TrackLocal.
func (i *Idle) ID() string { return i.id }

// RID implements webrtc.TrackLocal.
func (i *Idle) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: no participant's stream.
func (i *Idle) StreamID() string { return "idle" }

// Kind implements webrtc.TrackLocal.
func (i *Idle) Kind() webrtc.RTPCodecType { return i.kind }
