package client

import (
	"time"
)

// epoch is the origin of every RTP timestamp this process publishes: the
// moment the package was initialised, in practice the process start. A
// frame sent at time t carries the timestamp clockRate × (t − epoch), modulo
// 2^32 (RFC 3550 §5.1 only asks for a clock that increases linearly; its
// random initial value is there against plaintext attacks, which SRTP and
// later end-to-end encryption make moot). A receiver in the same process
// reads the send time back from the timestamp, which is what makes one-way
// delay measurable without synchronised clocks. The monotonic clock is used
// throughout, so wall-clock steps do not disturb it.
var epoch = time.Now()

// Epoch returns the origin of the published RTP timestamps (see epoch).
func Epoch() time.Time { return epoch }

// maxOneWay bounds a credible one-way delay; anything larger is a
// timestamp from another process (another epoch) or garbage.
const maxOneWay = 10 * time.Second

// rtpTicks counts clockRate ticks from the epoch to t (0 before it), without
// overflow for any realistic process lifetime: seconds and the sub-second
// remainder are scaled separately.
func rtpTicks(t time.Time, clockRate uint32) uint64 {
	d := t.Sub(epoch)
	if d <= 0 {
		return 0
	}
	secs, rem := uint64(d/time.Second), uint64(d%time.Second)
	return secs*uint64(clockRate) + rem*uint64(clockRate)/uint64(time.Second)
}

// rtpTimestamp is the RTP timestamp of a frame sent at t.
func rtpTimestamp(t time.Time, clockRate uint32) uint32 {
	return uint32(rtpTicks(t, clockRate))
}

// ticksDuration converts ticks back to time since the epoch.
func ticksDuration(ticks uint64, clockRate uint32) time.Duration {
	secs, rem := ticks/uint64(clockRate), ticks%uint64(clockRate)
	return time.Duration(secs)*time.Second + time.Duration(rem*uint64(time.Second)/uint64(clockRate))
}

// oneWayDelay reads the send time of a packet carrying timestamp ts out of
// the timestamp and returns how long before arrival that was. The 32-bit
// timestamp wraps (every 13 h at 90 kHz), so it is unwrapped to the latest
// tick count not after the arrival with the same low 32 bits; a sender is
// never ahead of its receiver on one clock. ok is false for delays that
// cannot be ours: beyond maxOneWay, or before the epoch.
func oneWayDelay(arrival time.Time, ts uint32, clockRate uint32) (d time.Duration, ok bool) {
	if clockRate == 0 {
		return 0, false
	}
	now := rtpTicks(arrival, clockRate)
	back := uint64(uint32(now) - ts) // ticks from the send to the arrival, modulo 2^32
	if back > now {
		return 0, false // would be before the epoch
	}
	d = arrival.Sub(epoch) - ticksDuration(now-back, clockRate)
	if d < 0 || d > maxOneWay {
		return 0, false
	}
	return d, true
}
