package client

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// RoundTrip is the round trip between this endpoint and the server as RTCP
// measures it (RFC 3550 §6.4.1: the server's receiver reports echo our
// sender reports' LSR with DLSR), the mean over every measurement of every
// track we send; ok is false while no report has come back. Without one it
// falls back to the selected ICE pair's STUN round trip (consent checks,
// RFC 7675), which also crosses the whole path to the server.
func (c *Client) RoundTrip() (rtt time.Duration, ok bool) {
	var total float64
	var n uint64
	var pair float64
	for _, st := range c.pc.GetStats() {
		switch s := st.(type) {
		case webrtc.RemoteInboundRTPStreamStats:
			total += s.TotalRoundTripTime
			n += s.RoundTripTimeMeasurements
		case webrtc.ICECandidatePairStats:
			if s.Nominated && s.CurrentRoundTripTime > 0 {
				pair = s.CurrentRoundTripTime
			}
		}
	}
	switch {
	case n > 0:
		return time.Duration(total / float64(n) * float64(time.Second)), true
	case pair > 0:
		return time.Duration(pair * float64(time.Second)), true
	}
	return 0, false
}
