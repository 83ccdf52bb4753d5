package peer

import (
	"sync/atomic"
	"time"
)

// JoinSteps are the steps of a participant's join the server sees, in the
// order they normally happen, each timed from its join message and told to
// Observer.JoinStep once per session (docs/PERFORMANCE.md, "Join"): the
// first answer applied, ICE connected, the connection up (ICE and DTLS:
// Pion's PeerConnectionStateConnected), the first key message relayed to
// it, and the first media packet written to it, of any remote track.
var JoinSteps = []string{StepAnswer, StepICE, StepDTLS, StepFirstKey, StepFirstPacket}

// The values of JoinSteps.
const (
	StepAnswer      = "answer"
	StepICE         = "ice_connected"
	StepDTLS        = "dtls_connected"
	StepFirstKey    = "first_key"
	StepFirstPacket = "first_packet"
)

// joinTimer reports each step of one session's join once. Its methods may
// be called from any goroutine (Pion's callbacks as well as the loop).
type joinTimer struct {
	obs  Observer // nil: nothing is reported
	at   time.Time
	done [5]atomic.Bool // by index in JoinSteps
}

func newJoinTimer(obs Observer, at time.Time) *joinTimer {
	return &joinTimer{obs: obs, at: at}
}

// reached reports step i of JoinSteps, the first time only.
func (j *joinTimer) reached(i int) {
	if j == nil || j.obs == nil || j.done[i].Swap(true) {
		return
	}
	j.obs.JoinStep(JoinSteps[i], time.Since(j.at))
}

// reachedSince is reached with a later origin (the first packet of a track
// that started after the join is timed from the track's start, as
// hotline_join_seconds is).
func (j *joinTimer) reachedSince(i int, from time.Time) {
	if j == nil || j.obs == nil || j.done[i].Swap(true) {
		return
	}
	j.obs.JoinStep(JoinSteps[i], time.Since(from))
}
