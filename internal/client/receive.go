package client

import (
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"hotline/internal/protocol"
)

// receiveMTU bounds one received packet; Pion's own receive MTU is 1460.
const receiveMTU = 1500

// remoteTrack is one received track: what the offer's receive table said
// about it, and its counters.
type remoteTrack struct {
	info  protocol.ReceiveMid
	since time.Time // where JoinToFirstFrame starts (see TrackStats); zero: not measured

	mu         sync.Mutex
	counter    rtpCounter
	delay      delayMeter
	firstFrame time.Time // arrival of the first complete frame
	ended      bool
	asm        assembler
	frames     frameCounts
	decBuf     []byte
	ssrc       uint32    // of the incoming stream, for keyframe requests
	lastPLI    time.Time // when we last asked for a key frame
	keyMissed  uint64    // frames.unknownKey when we last asked on a new key
	lostFrames uint64    // video frames given up as incomplete
	// frameTS and frameAt: the RTP timestamp and arrival of the frame being
	// opened (for Config.Frames).
	frameTS   uint32
	frameAt   time.Time
	clockRate uint32
}

func newRemoteTrack(info protocol.ReceiveMid, since time.Time) *remoteTrack {
	r := &remoteTrack{info: info, since: since}
	r.counter.video = info.Kind == protocol.KindVideo
	r.asm.video = r.counter.video
	return r
}

func (r *remoteTrack) snapshot() TrackStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := TrackStats{
		From:          r.info.Name,
		Participant:   r.info.Participant,
		Track:         r.info.Track,
		Mid:           r.info.Mid,
		Kind:          r.info.Kind,
		Source:        r.info.Source,
		Language:      r.info.Language,
		Packets:       r.counter.received,
		Frames:        r.counter.frames,
		Bytes:         r.counter.bytes,
		Expected:      r.counter.expected(),
		Lost:          r.counter.lost(),
		Late:          r.counter.late,
		JitterMs:      r.counter.jitterMs(),
		OneWay:        r.delay.hist,
		OneWayP50Ms:   ms(r.delay.hist.Quantile(0.50)),
		OneWayP99Ms:   ms(r.delay.hist.Quantile(0.99)),
		Ended:         r.ended,
		Decrypted:     r.frames.decrypted,
		DecryptFailed: r.frames.failed,
		UnknownKey:    r.frames.unknownKey,
		WrongSender:   r.frames.wrongSender,
		LastKID:       r.frames.lastKID,
		FramesLost:    r.lostFrames,
	}
	if !r.since.IsZero() && !r.firstFrame.IsZero() {
		ts.JoinToFirstFrame = max(r.firstFrame.Sub(r.since), 0)
	}
	return ts
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *remoteTrack) end() {
	r.mu.Lock()
	r.ended = true
	r.mu.Unlock()
}

// joinReference is where the join time of a track starts: the start of Join
// if its publisher was in the call when we joined (in the first roster we
// got), else now, as the track is first listed. c.mu must be held.
func (c *Client) joinReference(rm protocol.ReceiveMid) time.Time {
	if c.joinStart.IsZero() {
		return time.Time{}
	}
	if c.atJoin == nil || c.atJoin[rm.Participant] {
		return c.joinStart // no roster yet: the first offer follows our own join
	}
	return time.Now()
}

// updateReceiving applies an offer's receive table. Every active track is
// listed in every offer (PROTOCOL.md), so a mid that disappeared has ended;
// a mid that now carries another track is an ended track and a new one.
func (c *Client) updateReceiving(table []protocol.ReceiveMid) {
	c.mu.Lock()
	defer c.mu.Unlock()
	listed := make(map[string]bool, len(table))
	for _, rm := range table {
		listed[rm.Mid] = true
		if cur := c.byMid[rm.Mid]; cur != nil {
			if cur.info == rm {
				continue
			}
			cur.end()
		}
		r := newRemoteTrack(rm, c.joinReference(rm))
		c.byMid[rm.Mid] = r
		c.remote = append(c.remote, r)
		c.log.Debug("receiving", "mid", rm.Mid, "from", rm.Name, "track", rm.Track)
	}
	for mid, r := range c.byMid {
		if !listed[mid] {
			r.end()
			delete(c.byMid, mid)
			c.log.Debug("track ended", "mid", mid, "from", r.info.Name, "track", r.info.Track)
		}
	}
}

// onTrack is Pion's callback for a new incoming track. The transceiver's mid
// says which entry of the receive table it is.
func (c *Client) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	mid := ""
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Receiver() == receiver {
			mid = tr.Mid()
			break
		}
	}
	if mid == "" {
		// Pion's guess for an SSRC that no m-line declares (it makes a
		// transceiver of its own when no mid header extension says
		// otherwise): the last packets of a track whose m-line an offer
		// has just removed. Nothing the server described; drained unread.
		c.log.Debug("packets on an SSRC no m-line declares", "kind", track.Kind().String(), "ssrc", uint32(track.SSRC()))
		c.goStart(func() { drain(track) })
		return
	}
	c.mu.Lock()
	r := c.byMid[mid]
	c.mu.Unlock()
	if r == nil {
		// Media on a mid the server did not describe: count it anyway, so
		// that a server bug shows in the stats rather than vanishing.
		c.log.Warn("track on an undescribed mid", "mid", mid, "kind", track.Kind().String())
		r = newRemoteTrack(protocol.ReceiveMid{Mid: mid, Kind: track.Kind().String()}, time.Time{})
		c.mu.Lock()
		c.remote = append(c.remote, r)
		c.mu.Unlock()
	}
	r.bind(track)
	c.goStart(func() { c.readTrack(track, mid, r) })
}

// bind notes the incoming stream's clock rate and SSRC.
func (r *remoteTrack) bind(track *webrtc.TrackRemote) {
	r.mu.Lock()
	r.counter.clockRate = track.Codec().ClockRate
	r.delay.clockRate = track.Codec().ClockRate
	r.clockRate = track.Codec().ClockRate
	r.ssrc = uint32(track.SSRC())
	r.mu.Unlock()
}

// owner returns the track the receive table now says mid carries: a reused
// m-line (PROTOCOL.md, "Reused m-lines") carries one publisher's track after
// another on one incoming stream; nil when mid carries nothing.
func (c *Client) owner(mid string) *remoteTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byMid[mid]
}

// drain reads a track until it ends, so that Pion's buffer for it never
// fills.
func drain(track *webrtc.TrackRemote) {
	buf := make([]byte, receiveMTU)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
	}
}

// readTrack counts the packets of one incoming stream until it ends, and
// reassembles and decrypts its frames, each packet for the track that mid
// carries now (a new one starts with fresh counters).
func (c *Client) readTrack(track *webrtc.TrackRemote, mid string, r *remoteTrack) {
	defer func() { r.end() }()
	buf := make([]byte, receiveMTU)
	var h rtp.Header
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return // io.EOF when the transceiver stops, or the connection closed
		}
		if now := c.owner(mid); now != nil && now != r {
			r.end()
			r = now
			r.bind(track)
		}
		arrival := time.Now()
		hlen, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		payload := n - hlen
		if h.Padding && payload > 0 {
			// RFC 3550 §5.1: the last octet counts the padding octets.
			payload -= min(int(buf[n-1]), payload)
		}
		r.mu.Lock()
		r.counter.update(h.SequenceNumber, h.Timestamp, h.Marker, payload, arrival.Sub(epoch))
		if r.firstFrame.IsZero() && r.counter.frames > 0 {
			r.firstFrame = arrival
		}
		r.delay.observe(h.Timestamp, arrival)
		frame, lost := r.asm.push(&h, buf[hlen:hlen+payload])
		if frame != nil {
			r.frameTS, r.frameAt = h.Timestamp, arrival
			c.openFrame(r, frame)
		}
		r.lostFrames += uint64(lost)
		pli := lost > 0 && c.mayAskKeyframe(r, arrival)
		r.mu.Unlock()
		if pli {
			// A frame NACKs could not bring back: what follows it does not
			// decode until the next key frame, so ask for one now.
			c.askKeyframe(r)
		}
	}
}
