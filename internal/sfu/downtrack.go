package sfu

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// DownTrack is one subscriber's copy of a Track. It implements
// webrtc.TrackLocal, so it is added to the subscriber's PeerConnection like
// any local track; Pion binds it once negotiation completes.
type DownTrack struct {
	track *Track
	id    string

	mu    sync.Mutex
	bound atomic.Pointer[binding]

	// wmu serialises writes (the read loop and NACK answers) and guards hdr,
	// which is reused so that forwarding does not allocate.
	wmu sync.Mutex
	hdr rtp.Header
	// The sequence and timestamp rewrite (guarded by wmu): zero offsets,
	// unless the copy continues another on the same sender (Continue).
	from     Handover
	started  bool   // the first packet set the offsets
	firstSrc uint16 // the publisher's sequence number of that packet
	seqOff   uint16
	tsOff    uint32
	last     Handover // the newest packet written

	held atomic.Bool // Hold: bound, but writes nothing yet

	packets atomic.Uint64
	bytes   atomic.Uint64
	nacked  atomic.Uint64

	onFirst func() // called once, after the first packet is written
}

type binding struct {
	ctxID  string
	ssrc   uint32
	pt     uint8
	writer webrtc.TrackLocalWriter
	live   atomic.Bool // a packet was written through this binding
}

// ErrCodecMismatch: the subscriber accepted none of the publisher's codec.
var ErrCodecMismatch = errors.New("sfu: subscriber does not accept the publisher's codec")

// NewDownTrack makes a subscriber copy of t. onFirst, if not nil, is called
// once, right after the first packet is written to the subscriber.
func (t *Track) NewDownTrack(onFirst func()) *DownTrack {
	return &DownTrack{track: t, id: t.cfg.ID, onFirst: onFirst}
}

// ID implements webrtc.TrackLocal.
func (d *DownTrack) ID() string { return d.id }

// RID implements webrtc.TrackLocal (no simulcast).
func (d *DownTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (d *DownTrack) StreamID() string { return d.track.cfg.StreamID }

// Kind implements webrtc.TrackLocal.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.track.kind }

// Bind implements webrtc.TrackLocal: the subscriber's negotiation finished.
// The publisher's codec must be among what the subscriber accepted; packets
// are then rewritten to the subscriber's SSRC and payload type.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := d.track.cfg.Codec
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		d.mu.Lock()
		d.bound.Store(&binding{ctxID: ctx.ID(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), writer: ctx.WriteStream()})
		d.mu.Unlock()
		d.track.addDown(d)
		// A new subscriber cannot decode until the next key frame. Asked
		// now, it is produced while the subscriber's DTLS may still be
		// coming up (Pion binds at negotiation, and drops what is written
		// before DTLS is up): so the first packet that does reach the
		// subscriber asks again, sooner than the usual interval (writeRTP).
		d.track.RequestKeyframe()
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, ErrCodecMismatch
}

// Unbind implements webrtc.TrackLocal.
func (d *DownTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b := d.bound.Load(); b != nil && b.ctxID == ctx.ID() {
		d.bound.Store(nil)
		d.track.removeDown(d)
	}
	return nil
}

// Close detaches the copy from its track at once (the PeerConnection's own
// teardown may come later).
func (d *DownTrack) Close() {
	d.mu.Lock()
	d.bound.Store(nil)
	d.mu.Unlock()
	d.track.removeDown(d)
}

// Sent returns how many packets and bytes were written to the subscriber,
// and how many of them were retransmissions answering NACKs.
func (d *DownTrack) Sent() (packets, bytes, retransmitted uint64) {
	return d.packets.Load(), d.bytes.Load(), d.nacked.Load()
}

// writeRTP forwards one packet. The header is rewritten into the copy's own
// header, so the read loop's stays intact for the next subscriber. Header
// extensions are dropped: their ids were negotiated with the publisher, not
// with this subscriber (RFC 8285 §6). The payload is never touched.
func (d *DownTrack) writeRTP(src *rtp.Header, payload []byte) bool {
	b := d.bound.Load()
	if b == nil || d.held.Load() {
		return false
	}
	d.wmu.Lock()
	if !d.started {
		d.started, d.firstSrc = true, src.SequenceNumber
		if d.from.Valid {
			d.seqOff = d.from.Seq + 1 - src.SequenceNumber
			d.tsOff = d.from.Timestamp + d.from.gap() - src.Timestamp
		}
	}
	seq, ts := src.SequenceNumber+d.seqOff, src.Timestamp+d.tsOff
	d.hdr = rtp.Header{
		Version:        2,
		Padding:        src.Padding,
		Marker:         src.Marker,
		PayloadType:    b.pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           b.ssrc,
		CSRC:           src.CSRC,
		PaddingSize:    src.PaddingSize,
	}
	n, err := b.writer.WriteRTP(&d.hdr, payload)
	if err == nil && n > 0 && (!d.last.Valid || int16(seq-d.last.Seq) > 0) {
		d.last = Handover{Valid: true, Seq: seq, Timestamp: ts}
	}
	d.wmu.Unlock()
	// n == 0 without an error: Pion binds a sender before its DTLS transport
	// is up and drops what is written until then; that is not forwarding.
	if err != nil || n == 0 {
		return false
	}
	if !b.live.Load() && b.live.CompareAndSwap(false, true) {
		// The first packet that reaches this subscriber: its transport is
		// up, so a key frame asked for now is one it will get.
		d.track.requestKeyframe(min(FirstPacketSpacing, d.track.cfg.KeyframeInterval))
	}
	if d.packets.Add(1) == 1 && d.onFirst != nil {
		d.onFirst()
	}
	d.bytes.Add(uint64(len(payload)))
	return true
}

// RequestKeyframe asks the publisher for a key frame on behalf of this
// subscriber, which asked by signalling (its page installed a new key of
// the publisher and cannot send RTCP itself; docs/PROTOCOL.md,
// "keyframe"). Rate-limited as every request (Track.RequestKeyframe). A
// copy that has not yet reached its subscriber asks nothing: its first
// packet will.
func (d *DownTrack) RequestKeyframe() {
	if b := d.bound.Load(); b != nil && b.live.Load() {
		d.track.RequestKeyframe()
	}
}

// RTCPReader is how a DownTrack reads the subscriber's RTCP;
// *webrtc.RTPSender satisfies it.
type RTCPReader interface {
	Read(b []byte) (int, interceptor.Attributes, error)
}

// ServeRTCP reads the subscriber's RTCP for this copy until r fails (the
// sender was stopped): NACKs are answered from the track's cache, PLI and FIR
// become (rate-limited) keyframe requests to the publisher. Receiver reports
// and congestion feedback are consumed by Pion's interceptors on the way.
func (d *DownTrack) ServeRTCP(r RTCPReader) {
	ServeSenderRTCP(r, func() *DownTrack { return d })
}

// ServeSenderRTCP is ServeRTCP for a sender whose copy changes (a reused
// transceiver, see Continue): each packet goes to current(), if not nil.
func ServeSenderRTCP(r RTCPReader, current func() *DownTrack) {
	buf := make([]byte, 1500)
	pkt := make([]byte, 1500)
	var hdr rtp.Header
	for {
		n, _, err := r.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		d := current()
		if err != nil || d == nil {
			continue
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.track.RequestKeyframe()
			case *rtcp.TransportLayerNack:
				for _, pair := range p.Nacks {
					for _, seq := range pair.PacketList() {
						if src, ok := d.sourceSeq(seq); ok && d.track.retransmit(d, src, pkt, &hdr) {
							d.nacked.Add(1)
						}
					}
				}
			}
		}
	}
}
