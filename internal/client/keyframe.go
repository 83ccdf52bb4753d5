package client

import (
	"time"

	"github.com/pion/rtcp"

	"hotline/internal/protocol"
)

// keyframeInterval spaces this endpoint's key frame requests for one track,
// as the server spaces its own toward a publisher (internal/sfu).
const keyframeInterval = 500 * time.Millisecond

// mayAskKeyframe reports whether a key frame request for video track r is
// due now, and if so counts it as made. r.mu is held.
func (c *Client) mayAskKeyframe(r *remoteTrack, now time.Time) bool {
	if !r.counter.video || r.ssrc == 0 || now.Sub(r.lastPLI) < keyframeInterval {
		return false
	}
	r.lastPLI = now
	return true
}

// askKeyframe sends a PLI (RFC 4585 §6.3.1) for track r to the server,
// which passes it on to the publisher (at most one per track every 500 ms).
func (c *Client) askKeyframe(r *remoteTrack) {
	r.mu.Lock()
	ssrc := r.ssrc
	r.mu.Unlock()
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		c.log.Debug("keyframe request", "err", err)
	}
}

// keyArrived: a key from participant from was accepted. Its video frames
// that arrived before it could not be decrypted, so the frames after them
// reference pictures this endpoint never had: ask for a key frame rather
// than wait for the publisher's next natural one (docs/PROTOCOL.md, "Key
// messages").
func (c *Client) keyArrived(from string) {
	c.mu.Lock()
	var tracks []*remoteTrack
	for _, r := range c.byMid {
		if r.info.Participant == from && r.info.Kind == protocol.KindVideo {
			tracks = append(tracks, r)
		}
	}
	c.mu.Unlock()
	now := time.Now()
	for _, r := range tracks {
		r.mu.Lock()
		missed := r.frames.unknownKey > r.keyMissed
		r.keyMissed = r.frames.unknownKey
		// Not held back by a recent request for a lost frame: the key frame
		// that answered it may itself have come before the key.
		ask := missed && r.ssrc != 0
		if ask {
			r.lastPLI = now
		}
		r.mu.Unlock()
		if ask {
			c.askKeyframe(r)
		}
	}
}

// RequestKeyframes asks for a key frame on every video track received (at
// most one request per track every 500 ms): a recorder that starts writing
// mid-stream needs one to begin each file.
func (c *Client) RequestKeyframes() {
	c.mu.Lock()
	var tracks []*remoteTrack
	for _, r := range c.byMid {
		if r.info.Kind == protocol.KindVideo {
			tracks = append(tracks, r)
		}
	}
	c.mu.Unlock()
	now := time.Now()
	for _, r := range tracks {
		r.mu.Lock()
		ask := c.mayAskKeyframe(r, now)
		r.mu.Unlock()
		if ask {
			c.askKeyframe(r)
		}
	}
}
