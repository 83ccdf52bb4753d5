package call

import (
	"context"
	"errors"
	"sync"
	"time"

	"hotline/internal/protocol"
)

// EventKind says what happened to a live call.
type EventKind string

// The events of a live call, in the order they happen to it: opened once,
// then joined, moved and left for its members, segment changes
// (EventSegment, segment.go), and closed once.
const (
	// EventOpened: the first member joined; the call is live.
	EventOpened EventKind = "opened"
	// EventJoined: Member joined, in state To; Why is WhyKept when that is
	// the place an earlier admission action gave its device in this call.
	EventJoined EventKind = "joined"
	// EventMoved: Member moved From one state To another (admitted, called
	// in, sent out).
	EventMoved EventKind = "moved"
	// EventLeft: Member left from state From; Why says how ("left",
	// "removed by <name>", WhyEnded).
	EventLeft EventKind = "left"
	// EventClosed: the call closed. Why is WhyEmpty (nobody in it for the
	// registry's grace; Member is who left last) or WhyEnded (End: By and
	// Reason say who and why).
	EventClosed EventKind = "closed"
	// EventKey: Member sent its first key message of KID (a new epoch of
	// its sender key). Several recipients of one epoch make one event.
	EventKey EventKind = "key"
)

// Why a member left or a call closed, when the call decided it.
const (
	WhyEmpty = "empty" // closed: nobody in it for the grace period
	WhyEnded = "ended" // ended for everyone by Registry.End
	// WhyKept: a device joined again and went back to the place an
	// admission action gave it earlier in the call (keptPlace).
	WhyKept = "kept its place"
)

// Event is one thing that happened to a live call.
type Event struct {
	Seq  uint64 // 1, 2, …: the registry's order, over all calls
	Kind EventKind
	At   time.Time
	Call string // the live call's name, "<line>/<call>"
	// Booking is the booked call's id ("" for an ad hoc call): what the
	// first member's admission said.
	Booking    string
	Member     Identity
	From, To   State
	Why        string
	By, Reason string // closed by End; By also for moved: who moved the member
	KID        uint64 // key: the sender's new KID
	// Segment and Marker: EventSegment's new segment and its signed marker.
	Segment string
	Marker  *protocol.Marker
	// Missed counts the events this subscriber lost, just before this
	// one, because its queue was full (see Subscribe).
	Missed int
}

// DefaultCapacity bounds a subscriber's queue: far more than a burst of
// joins and leaves in a full call.
const DefaultCapacity = 4096

// ErrUnsubscribed: the subscription was closed and everything queued
// before that has been read.
var ErrUnsubscribed = errors.New("call: subscription closed")

// events collects the registry's events and hands them to subscribers.
// Calls emit under their own lock (emit takes only mu, a leaf lock); the
// goroutine that made the change delivers them after releasing the call's
// lock (flush). flushing serialises deliveries, so every subscriber sees
// the registry's order.
type events struct {
	mu      sync.Mutex
	seq     uint64
	pending []Event
	subs    []*Subscription

	flushing sync.Mutex
}

// emit records an event of c; c.mu is held.
func (c *Call) emit(ev Event) {
	ev.Call, ev.Booking, ev.At = c.name, c.booking, time.Now()
	x := &c.reg.ev
	x.mu.Lock()
	if len(x.subs) > 0 {
		x.seq++
		ev.Seq = x.seq
		x.pending = append(x.pending, ev)
	}
	x.mu.Unlock()
}

// flush delivers what was emitted; called with no call's lock held.
func (x *events) flush() {
	x.flushing.Lock()
	defer x.flushing.Unlock()
	x.mu.Lock()
	evs, subs := x.pending, x.subs
	x.pending = nil
	x.mu.Unlock()
	for _, ev := range evs {
		for _, s := range subs {
			s.push(ev)
		}
	}
}

// Subscribe returns a subscription to the events of every live call from
// now on, in order. Delivery never waits for the subscriber: each
// subscription has a queue of the registry's Capacity, and an event that
// finds it full is dropped and counted in the Missed of the next event the
// subscriber reads. A subscriber that must not miss anything keeps up (the
// server's lifecycle does one small database write per event).
func (r *Registry) Subscribe() *Subscription {
	s := &Subscription{ev: &r.ev, capacity: r.cfg.Capacity, notify: make(chan struct{}, 1)}
	r.ev.mu.Lock()
	r.ev.subs = append(r.ev.subs, s)
	r.ev.mu.Unlock()
	return s
}

// Subscription is one subscriber's queue of events.
type Subscription struct {
	ev       *events
	capacity int
	notify   chan struct{}

	mu     sync.Mutex
	items  []Event
	missed int
	closed bool
}

func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	switch {
	case s.closed:
	case len(s.items) >= s.capacity:
		s.missed++
	default:
		ev.Missed, s.missed = s.missed, 0
		s.items = append(s.items, ev)
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next waits for the next event. After Close it returns what was queued,
// then ErrUnsubscribed; if ctx ends first, ctx's error.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		if len(s.items) > 0 {
			ev := s.items[0]
			s.items[0] = Event{}
			s.items = s.items[1:]
			s.mu.Unlock()
			return ev, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return Event{}, ErrUnsubscribed
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Close ends the subscription: nothing more is queued, and Next returns
// ErrUnsubscribed once the queue is read.
func (s *Subscription) Close() {
	// Whatever a flush in progress holds is delivered first.
	s.ev.flushing.Lock()
	s.ev.mu.Lock()
	for i, x := range s.ev.subs {
		if x == s {
			s.ev.subs = append(s.ev.subs[:i:i], s.ev.subs[i+1:]...)
			break
		}
	}
	s.ev.mu.Unlock()
	s.ev.flushing.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}
