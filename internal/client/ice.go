package client

import (
	"context"
	"net"
	"time"

	"github.com/pion/webrtc/v4"

	"hotline/internal/protocol"
)

// iceRetry spaces this endpoint's ICE restart requests while its connection
// stays down: a restart needs a round trip of signalling, gathering and
// connectivity checks, about a second on a working path.
const iceRetry = 4 * time.Second

// onConnectionState follows the PeerConnection. Connected: media may flow.
// Disconnected or failed (the network changed, an address went away, the
// path broke): ask the server for an ICE restart at once (docs/PROTOCOL.md,
// "ICE restart"); watchICE asks again while the connection stays down.
func (c *Client) onConnectionState(s webrtc.PeerConnectionState) {
	c.log.Debug("peer connection", "state", s.String())
	c.connected.Store(s == webrtc.PeerConnectionStateConnected)
	c.pcState.Store(int32(s))
	if s == webrtc.PeerConnectionStateConnected {
		c.mu.Lock()
		c.probed = false // the next outage probes the socket again
		c.mu.Unlock()
	}
	if iceDown(s) {
		c.askICERestart(time.Now())
	}
}

func iceDown(s webrtc.PeerConnectionState) bool {
	return s == webrtc.PeerConnectionStateDisconnected || s == webrtc.PeerConnectionStateFailed
}

// restartAnswerWait: an ICE restart request that brings no offer within
// this long means the signalling socket is dead too (the network change
// took its TCP connection along): the client drops it, and its Attendee
// joins again on a new one.
const restartAnswerWait = 6 * time.Second

// watchICE repeats the ICE restart request every iceRetry while the
// connection is down, until the client closes; see also restartAnswerWait.
func (c *Client) watchICE() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-tick.C:
			if !iceDown(webrtc.PeerConnectionState(c.pcState.Load())) {
				continue
			}
			c.mu.Lock()
			unanswered := !c.firstAsk.IsZero() && c.lastOffer.Before(c.firstAsk) && now.Sub(c.firstAsk) > restartAnswerWait
			c.mu.Unlock()
			if ws := c.socket(); unanswered && ws != nil {
				// The read loop sees the socket die and resumes the session
				// over a new one (resume.go).
				c.log.Info("no offer answers the ICE restart request: signalling lost")
				c.mu.Lock()
				c.firstAsk = time.Time{}
				c.mu.Unlock()
				ws.CloseNow()
				continue
			}
			c.askICERestart(now)
			c.probeSocket()
		}
	}
}

// probeTimeout bounds the ping that checks the signalling socket when the
// media path goes down.
const probeTimeout = 2 * time.Second

// probeSocket pings the signalling socket once per outage of the media
// path: a network change that broke the path usually broke the socket's
// TCP connection too, and then the ICE restart request can never be
// answered. A ping that fails closes the socket, and the read loop resumes
// the session over a new one at once.
func (c *Client) probeSocket() {
	c.mu.Lock()
	if c.probed {
		c.mu.Unlock()
		return
	}
	c.probed = true
	c.mu.Unlock()
	ws := c.socket()
	if ws == nil {
		return
	}
	c.goStart(func() {
		ctx, cancel := context.WithTimeout(c.ctx, probeTimeout)
		defer cancel()
		if err := ws.Ping(ctx); err != nil && c.ctx.Err() == nil {
			c.log.Info("signalling socket does not answer", "err", err)
			ws.CloseNow()
		}
	})
}

// offerArrived notes an offer, which answers any ICE restart request.
func (c *Client) offerArrived() {
	c.mu.Lock()
	c.lastOffer = time.Now()
	c.firstAsk = time.Time{}
	c.mu.Unlock()
}

// askICERestart sends restart_ice unless one went out less than iceRetry ago.
func (c *Client) askICERestart(now time.Time) {
	c.mu.Lock()
	due := c.id != "" && now.Sub(c.lastRestart) >= iceRetry
	if due {
		c.lastRestart = now
		c.restarts++
		if c.firstAsk.IsZero() {
			c.firstAsk = now
		}
	}
	c.mu.Unlock()
	if !due {
		return
	}
	c.log.Info("asking for an ICE restart")
	if err := c.out(c.ctx, protocol.RestartICE{Type: protocol.TypeRestartICE}); err != nil {
		c.log.Debug("restart_ice", "err", err)
	}
}

// ICERestarts counts the ICE restarts this endpoint asked for.
func (c *Client) ICERestarts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts
}

// SelectedPair returns the local and remote address ("ip:port") of the ICE
// candidate pair media use now, or empty strings when there is none.
func (c *Client) SelectedPair() (local, remote string) {
	sctp := c.pc.SCTP()
	if sctp == nil {
		return "", ""
	}
	p, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil {
		return "", ""
	}
	return hostPort(p.Local), hostPort(p.Remote)
}

func hostPort(c *webrtc.ICECandidate) string {
	if c == nil {
		return ""
	}
	return (&net.UDPAddr{IP: net.ParseIP(c.Address), Port: int(c.Port)}).String()
}
