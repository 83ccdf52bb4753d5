package client

import (
	"errors"
	"slices"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"hotline/internal/protocol"
	"hotline/internal/sframe"
)

// maxFrameBytes bounds a reassembled frame; a VP8 frame of our test media is
// a few KB, a 1080p key frame can reach a few hundred.
const maxFrameBytes = 1 << 20

// maxPendingFrames bounds how long a video frame is gathered: about a
// second of 30 fps video, time enough for NACKed packets to come back
// (several round trips). A frame still incomplete when this many newer ones
// have started is lost.
const maxPendingFrames = 32

// finishedRing remembers the timestamps of the last frames completed or
// given up, so that a late duplicate (a retransmission that crossed its
// original) does not start a frame that can never complete.
const finishedRing = 64

// assembler rebuilds whole frames from RTP packets so that they can be
// decrypted: SFrame protects frames, not packets. Audio (Opus) is one frame
// per packet. A VP8 frame (RFC 7741) is the packets of one RTP timestamp,
// from the one with the S bit and partition 0 to the one with the marker
// bit, every sequence number in between present. Packets may arrive in any
// order: a retransmission answering a NACK (RFC 4585 §6.2.1) comes after
// the packets sent after its original, so frames are gathered side by side
// and handed over as each completes.
type assembler struct {
	video    bool
	pending  []*partialFrame // oldest first
	free     []*partialFrame
	out      []byte
	finished [finishedRing]uint32
	nfin     int    // entries of finished in use, up to finishedRing
	fin      int    // next slot of finished
	started  uint64 // frames started so far
	vp8      codecs.VP8Packet
}

type partialFrame struct {
	ts                 uint32
	born               uint64 // assembler.started when it began
	start, end         uint16 // sequence numbers of the first and last packet
	haveStart, haveEnd bool
	seqs               []uint16
	bodies             [][]byte // copies, parallel to seqs
	size               int
}

// push adds one packet. It returns a frame when this packet completes one
// (valid until the next call), and how many older frames were given up as
// lost to make room.
func (a *assembler) push(h *rtp.Header, payload []byte) (frame []byte, lost int) {
	if !a.video {
		return payload, 0
	}
	body, err := a.vp8.Unmarshal(payload)
	if err != nil || a.isFinished(h.Timestamp) {
		return nil, 0
	}
	f := a.frameOf(h.Timestamp)
	if f == nil {
		// Frames this far behind will not complete any more.
		for len(a.pending) > 0 && a.started-a.pending[0].born >= maxPendingFrames {
			a.retire(0)
			lost++
		}
		f = a.newFrame(h.Timestamp)
	}
	if slices.Contains(f.seqs, h.SequenceNumber) {
		return nil, lost // a duplicate
	}
	if f.size+len(body) > maxFrameBytes {
		a.retire(slices.Index(a.pending, f))
		return nil, lost + 1
	}
	if a.vp8.S == 1 && a.vp8.PID == 0 {
		f.start, f.haveStart = h.SequenceNumber, true
	}
	if h.Marker {
		f.end, f.haveEnd = h.SequenceNumber, true
	}
	f.seqs = append(f.seqs, h.SequenceNumber)
	f.bodies = append(f.bodies, append(a.spare(len(f.bodies), f), body...))
	f.size += len(body)
	if !f.haveStart || !f.haveEnd || len(f.seqs) != int(f.end-f.start)+1 {
		return nil, lost
	}
	// Complete: concatenate in sequence order (serial arithmetic, RFC 1982,
	// so a frame across the 16-bit wrap sorts right).
	a.out = a.out[:0]
	for i := range len(f.seqs) {
		j := slices.Index(f.seqs, f.start+uint16(i))
		if j < 0 {
			a.retire(slices.Index(a.pending, f))
			return nil, lost + 1 // packets from outside the frame's range
		}
		a.out = append(a.out, f.bodies[j]...)
	}
	a.retire(slices.Index(a.pending, f))
	return a.out, lost
}

func (a *assembler) frameOf(ts uint32) *partialFrame {
	for _, f := range a.pending {
		if f.ts == ts {
			return f
		}
	}
	return nil
}

func (a *assembler) newFrame(ts uint32) *partialFrame {
	var f *partialFrame
	if n := len(a.free); n > 0 {
		f, a.free = a.free[n-1], a.free[:n-1]
	} else {
		f = &partialFrame{}
	}
	bodies := f.bodies[:0]
	*f = partialFrame{ts: ts, born: a.started, seqs: f.seqs[:0], bodies: bodies}
	a.started++
	a.pending = append(a.pending, f)
	return f
}

// spare returns an empty buffer for the i-th body of f, reusing the one a
// previous frame held in that slot.
func (a *assembler) spare(i int, f *partialFrame) []byte {
	if i < cap(f.bodies) {
		if b := f.bodies[:i+1][i]; b != nil {
			return b[:0]
		}
	}
	return nil
}

// retire ends the i-th pending frame, complete or not, and remembers its
// timestamp.
func (a *assembler) retire(i int) {
	f := a.pending[i]
	a.pending = slices.Delete(a.pending, i, i+1)
	a.free = append(a.free, f)
	a.finished[a.fin] = f.ts
	a.fin = (a.fin + 1) % finishedRing
	a.nfin = min(a.nfin+1, finishedRing)
}

func (a *assembler) isFinished(ts uint32) bool {
	return slices.Contains(a.finished[:a.nfin], ts)
}

// Frame outcomes counted per received track.
type frameCounts struct {
	decrypted   uint64
	failed      uint64 // authentication, malformed, replay
	unknownKey  uint64 // no key for the frame's KID (yet, or never: a departed member)
	wrongSender uint64 // the KID names another sender than the track's publisher
	lastKID     uint64 // of the latest decrypted frame
}

// openFrame decrypts one reassembled frame of track r and counts the outcome.
// r.mu is held.
func (c *Client) openFrame(r *remoteTrack, frame []byte) {
	kind := r.info.Kind
	if c.cfg.EncryptedTap != nil {
		c.cfg.EncryptedTap(r.info.Participant, kind, frame)
	}
	if c.cfg.PlainFrames {
		r.frames.decrypted++
		if c.cfg.DecryptedTap != nil {
			c.cfg.DecryptedTap(r.info.Participant, kind, frame)
		}
		return
	}
	k := sframe.Audio
	if kind == protocol.KindVideo {
		k = sframe.Video
	}
	kid, out, err := c.keys.Receiver().Decrypt(r.decBuf[:0], k, frame)
	switch {
	case errors.Is(err, sframe.ErrUnknownKID):
		r.frames.unknownKey++
		return
	case err != nil:
		r.frames.failed++
		return
	}
	r.decBuf = out
	// The key proves the sender: a server that swapped tracks between
	// publishers is caught here.
	if from, ok := c.keys.SenderOf(kid); !ok || from != r.info.Participant {
		r.frames.wrongSender++
		return
	}
	r.frames.decrypted++
	r.frames.lastKID = kid
	if c.cfg.DecryptedTap != nil {
		c.cfg.DecryptedTap(r.info.Participant, kind, out)
	}
	if c.cfg.Frames != nil {
		c.cfg.Frames(Frame{Track: r.info, Timestamp: r.frameTS, ClockRate: r.clockRate, Arrival: r.frameAt, KID: kid, Data: out})
	}
}

// Frame is one decrypted frame as Config.Frames sees it.
type Frame struct {
	Track     protocol.ReceiveMid // whose track, its kind and source
	Timestamp uint32              // RTP timestamp
	ClockRate uint32
	Arrival   time.Time // of the packet that completed it
	KID       uint64    // the key it was decrypted with
	Data      []byte    // the codec's frame; valid only during the call
}
