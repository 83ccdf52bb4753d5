package client

import (
	"math"
	"time"
)

// Stats is a snapshot of what a Client has received and sent.
type Stats struct {
	Tracks []TrackStats // one per received track, in order of appearance, ended ones included
	Sent   []SentStats  // one per local track ever published
	// SDPBytes and MLines: the size of the client's local description (its
	// last answer) and its m-line count; they grow with the call's history
	// unless ended m-lines are reused (docs/PROTOCOL.md, "Reused m-lines").
	SDPBytes, MLines int
}

// TrackStats describes one received track. Payloads are never parsed (they
// will be end-to-end encrypted): everything comes from RTP headers.
type TrackStats struct {
	From        string // the publisher's display name
	Participant string // the publisher's participant id
	Track       string // the publisher's track id
	Mid         string // the transceiver it arrives on
	Kind        string // "audio" or "video"
	Source      string
	Language    string  // an interpretation channel's language
	Packets     uint64  // RTP packets received, retransmissions included
	Frames      uint64  // video: packets with the marker bit (last of a frame); audio: packets
	Bytes       uint64  // RTP payload bytes (headers and padding excluded)
	Expected    uint64  // RFC 3550 A.3: sequence numbers from the first to the highest seen
	Lost        uint64  // RFC 3550 A.3 cumulative loss, clamped at 0 (duplicates do not make it negative)
	Late        uint64  // packets at or behind the highest sequence number seen: reordered, duplicated or retransmitted
	JitterMs    float64 // RFC 3550 §6.4.1 interarrival jitter, in milliseconds
	Ended       bool    // the server's last offer no longer lists it, or its reader stopped (all are, after Close)

	// End-to-end decryption of reassembled frames (docs/PROTOCOL.md).
	Decrypted     uint64 // frames decrypted and authenticated, from the track's publisher
	DecryptFailed uint64 // frames that failed authentication, were malformed or replayed
	UnknownKey    uint64 // frames under a KID this endpoint holds no key for
	WrongSender   uint64 // frames whose key belongs to another member than the publisher
	LastKID       uint64 // the SFrame KID of the latest decrypted frame (sender tag and epoch)
	// FramesLost counts video frames given up as incomplete: a packet
	// missing even after NACKs, or newer frames crowding it out. Each made
	// the endpoint ask for a key frame (at most one request per 500 ms).
	FramesLost uint64

	// JoinToFirstFrame is how long the first complete frame took (video:
	// the first packet with the marker bit; audio: the first packet),
	// counted from the start of Join when the publisher was in the call as
	// we joined (in the first roster), so that waiting for its media to
	// start counts; or else, the publisher having joined after us, from
	// when the track's mid first appeared in an offer's receive table.
	// (A track that an earlier participant publishes mid-call, a second
	// camera, also counts from our Join.) 0 while no frame has arrived.
	JoinToFirstFrame time.Duration

	// One-way delay from the publisher's send to our receipt, per frame.
	// It is read from the RTP timestamp, which internal/client publishers
	// derive from a clock shared by the whole process (Epoch), so it only
	// means something when the publisher is another Client in this same
	// process, as in `hotline bench`; from any other publisher it is noise.
	OneWay      DelayHistogram // every frame so far; Sub two snapshots for a window
	OneWayP50Ms float64
	OneWayP99Ms float64
}

// SentStats describes one local track.
type SentStats struct {
	Track            string
	Kind             string
	Source           string
	Language         string // an interpretation channel's language
	Mid              string // the mid the server assigned; empty until its offer arrives
	Frames           uint64 // samples handed to Pion once the track was attached and connected
	Bytes            uint64 // encoded bytes of those samples
	KeyframeRequests uint64 // PLI and FIR received for this track
	Unpublished      bool
}

// rtpCounter accumulates the statistics of one received RTP stream. It is
// not safe for concurrent use; its owner locks around it.
type rtpCounter struct {
	clockRate uint32 // Hz; 0 disables jitter
	video     bool   // frames end at the marker bit, else every packet is a frame

	started  bool
	baseSeq  uint16 // first sequence number seen
	maxSeq   uint16 // highest sequence number seen, modulo 2^16
	cycles   uint64 // sequence number wraparounds, times 2^16 (RFC 3550 A.1)
	received uint64
	late     uint64
	frames   uint64
	bytes    uint64

	// RFC 3550 §6.4.1: J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16, in timestamp units.
	jitter      float64
	lastArrival float64 // arrival of the previous packet, in timestamp units
	lastTS      uint32
}

// update accounts for one packet: its header fields, payload length and
// arrival time (on any monotonic clock, as a duration since a fixed epoch).
func (c *rtpCounter) update(seq uint16, ts uint32, marker bool, payloadLen int, arrival time.Duration) {
	c.received++
	c.bytes += uint64(payloadLen)
	if !c.video || marker {
		c.frames++
	}
	arr := arrival.Seconds() * float64(c.clockRate)
	if !c.started {
		c.started = true
		c.baseSeq, c.maxSeq = seq, seq
		c.lastArrival, c.lastTS = arr, ts
		return
	}
	// RFC 3550 A.1, without the probation logic: a packet less than half the
	// sequence space ahead of the highest one moves it forward (wrapping if
	// its number is smaller); anything else is a late or duplicate packet.
	if delta := seq - c.maxSeq; delta != 0 && delta < 1<<15 {
		if seq < c.maxSeq {
			c.cycles += 1 << 16
		}
		c.maxSeq = seq
	} else {
		c.late++
	}
	if c.clockRate != 0 {
		// D(i,j) = (Rj - Ri) - (Sj - Si). The timestamp difference is taken
		// as a signed 32-bit value so that wraparound is harmless.
		d := (arr - c.lastArrival) - float64(int32(ts-c.lastTS))
		c.jitter += (math.Abs(d) - c.jitter) / 16
	}
	c.lastArrival, c.lastTS = arr, ts
}

// expected is the number of packets between the first and the highest
// sequence numbers seen, both included (RFC 3550 A.3).
func (c *rtpCounter) expected() uint64 {
	if !c.started {
		return 0
	}
	return c.cycles + uint64(c.maxSeq) - uint64(c.baseSeq) + 1
}

// lost is expected minus received, clamped at 0.
func (c *rtpCounter) lost() uint64 {
	if e := c.expected(); e > c.received {
		return e - c.received
	}
	return 0
}

// jitterMs converts the jitter from timestamp units to milliseconds.
func (c *rtpCounter) jitterMs() float64 {
	if c.clockRate == 0 {
		return 0
	}
	return c.jitter / float64(c.clockRate) * 1000
}
