package client

import (
	"errors"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"hotline/internal/protocol"
	"hotline/internal/sframe"
)

// maxFrameBytes bounds a reassembled frame; a VP8 frame of our test media is
// a few KB, a 1080p key frame can reach a few hundred.
const maxFrameBytes = 1 << 20

// assembler rebuilds whole frames from RTP packets so that they can be
// decrypted: SFrame protects frames, not packets. Audio (Opus) is one frame
// per packet. VP8 frames (RFC 7741) start at a packet with the S bit and
// partition 0 and end at the marker bit; a frame with a gap in its sequence
// numbers is dropped (it could not be decrypted anyway).
type assembler struct {
	video   bool
	buf     []byte
	ts      uint32
	nextSeq uint16
	open    bool // a frame is being gathered
	vp8     codecs.VP8Packet
}

// push adds one packet and returns a complete frame when this packet ends
// one. The frame is valid until the next call.
func (a *assembler) push(h *rtp.Header, payload []byte) []byte {
	if !a.video {
		return payload
	}
	body, err := a.vp8.Unmarshal(payload)
	if err != nil {
		a.open = false
		return nil
	}
	if a.vp8.S == 1 && a.vp8.PID == 0 {
		a.buf, a.ts, a.open = a.buf[:0], h.Timestamp, true
	} else if !a.open || h.Timestamp != a.ts || h.SequenceNumber != a.nextSeq {
		a.open = false // a gap or a stray packet: this frame is lost
		return nil
	}
	a.nextSeq = h.SequenceNumber + 1
	if len(a.buf)+len(body) > maxFrameBytes {
		a.open = false
		return nil
	}
	a.buf = append(a.buf, body...)
	if !h.Marker {
		return nil
	}
	a.open = false
	return a.buf
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
}
