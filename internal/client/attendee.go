package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"hotline/internal/protocol"
)

// Backoff bounds the pause between attempts to join: the first pause is
// First, each next one twice as long, never more than Max; every pause is
// drawn at random between half and all of that ("equal jitter"), so that
// the endpoints of a call that a server restart dropped together do not
// knock again in step.
type Backoff struct {
	First, Max time.Duration
}

// DefaultBackoff keeps the longest pause short: after a server restart an
// endpoint is back within about two seconds of the server listening again.
var DefaultBackoff = Backoff{First: 250 * time.Millisecond, Max: 2 * time.Second}

// pause returns the pause before attempt n (0-based) of a series.
func (b Backoff) pause(n int) time.Duration {
	d := b.First
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// attemptTimeout bounds one join attempt (connect, challenge, welcome): a
// server that accepts the connection and then says nothing is tried again.
const attemptTimeout = 10 * time.Second

// Attendee keeps an endpoint in a call across signalling sessions: it joins,
// and each time the session ends for a reason that is not final (the server
// went away or restarted, the socket broke, the PeerConnection failed), it
// joins again with a new Client: a new challenge and proof, new keys, a new
// participant id (docs/PROTOCOL.md, "Reconnecting"). It stops for good when
// the server refuses the endpoint (unauthorized, forbidden, version), when
// the server ends the session normally (a removal), or when it is closed.
// Its methods are safe for concurrent use.
type Attendee struct {
	cfg     Config
	backoff Backoff
	cancel  context.CancelFunc
	done    chan struct{}
	closing sync.WaitGroup // clients of ended sessions being closed

	mu     sync.Mutex
	cur    *Client
	joins  int
	past   []TrackStats // tracks of the sessions that ended
	pastTx []SentStats
	err    error
}

// Attend starts keeping cfg's endpoint in its call until ctx ends, Close or
// Leave is called, or a final refusal; see Attendee. Attempts are spaced by
// b (the zero value means DefaultBackoff).
func Attend(ctx context.Context, cfg Config, b Backoff) *Attendee {
	if b.First <= 0 || b.Max <= 0 {
		b = DefaultBackoff
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &Attendee{cfg: cfg, backoff: b, cancel: cancel, done: make(chan struct{})}
	go a.run(ctx)
	return a
}

func (a *Attendee) run(ctx context.Context) {
	defer close(a.done)
	defer a.closing.Wait()
	log := a.cfg.Logger
	failures := 0
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		c, err := Join(actx, a.cfg)
		cancel()
		if ctx.Err() != nil {
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if err != nil {
			if final(err) {
				a.finish(err)
				return
			}
			if log != nil {
				log.Info("join failed; trying again", "err", err, "attempt", failures+1)
			}
			if !sleep(ctx, a.backoff.pause(failures)) {
				return
			}
			failures++
			continue
		}
		failures = 0
		a.mu.Lock()
		a.cur = c
		a.joins++
		n := a.joins
		a.mu.Unlock()
		if log != nil {
			log.Info("joined", "line", a.cfg.Line, "call", a.cfg.Call, "id", c.ID(), "session", n)
		}
		select {
		case <-c.Done():
		case <-ctx.Done():
			return // Close or Leave deal with the current client
		}
		err = c.Err()
		a.retire(c)
		if err == nil || errors.Is(err, ErrEnded) {
			// Ended by the server on purpose: a normal closure (after a
			// removal: the client does not rejoin on its own), or the call
			// was ended for everyone (4001).
			a.finish(err)
			return
		}
		if log != nil {
			log.Info("signalling lost; reconnecting", "err", err)
		}
		if !sleep(ctx, a.backoff.pause(0)) {
			return
		}
		failures = 1
	}
}

// retire keeps the figures of a client whose session ended and closes it
// in the background (closing a PeerConnection waits for Pion's goroutines;
// the next session need not). The next session's KIDs carry another
// sender tag (of its new participant id), so it never goes back to a KID
// of this one.
func (a *Attendee) retire(c *Client) {
	st := c.Stats()
	for i := range st.Tracks {
		st.Tracks[i].Ended = true
	}
	a.closing.Go(func() { _ = c.Close() })
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur == c {
		a.cur = nil
	}
	a.past = append(a.past, st.Tracks...)
	a.pastTx = append(a.pastTx, st.Sent...)
}

func (a *Attendee) finish(err error) {
	a.mu.Lock()
	a.err = err
	a.mu.Unlock()
}

// final reports join errors that another attempt would meet again.
func final(err error) bool {
	if errors.Is(err, ErrConfig) {
		return true
	}
	var se *ServerError
	return errors.As(err, &se) && finalCode(se.Msg.Code)
}

// finalCode: refusals of the endpoint itself, not of the moment. A full
// call or a device still in the call (the server has not yet noticed that
// the previous socket died) is "refused" and worth another try.
func finalCode(code string) bool {
	switch code {
	case protocol.CodeUnauthorized, protocol.CodeForbidden, protocol.CodeVersion, protocol.CodeRemoved:
		return true
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Client returns the client of the current session, or nil between
// sessions.
func (a *Attendee) Client() *Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur
}

// Joins counts the sessions joined so far.
func (a *Attendee) Joins() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.joins
}

// Done is closed when the attendee has stopped for good; Err says why.
func (a *Attendee) Done() <-chan struct{} { return a.done }

// Err is the final refusal that stopped the attendee, or nil.
func (a *Attendee) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Stats returns the figures of every session so far: the tracks of ended
// sessions (marked ended) followed by the current session's.
func (a *Attendee) Stats() Stats {
	a.mu.Lock()
	s := Stats{Tracks: slices.Clone(a.past), Sent: slices.Clone(a.pastTx)}
	c := a.cur
	a.mu.Unlock()
	if c != nil {
		cs := c.Stats()
		s.Tracks = append(s.Tracks, cs.Tracks...)
		s.Sent = append(s.Sent, cs.Sent...)
	}
	return s
}

// Leave stops reconnecting and leaves the call politely (within ctx).
func (a *Attendee) Leave(ctx context.Context) error {
	if c := a.stop(); c != nil {
		return c.Leave(ctx)
	}
	return nil
}

// Close stops reconnecting and closes the current session.
func (a *Attendee) Close() error {
	if c := a.stop(); c != nil {
		return c.Close()
	}
	return nil
}

// stop ends the reconnecting loop and hands over the current client, if any.
func (a *Attendee) stop() *Client {
	a.cancel()
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.cur
	a.cur = nil
	return c
}
