// Package call holds live calls: who is in each, what each publishes, and who
// receives what. It decides; it does not move media (internal/sfu does) or
// speak to clients (internal/peer does). Members are told of changes through
// the small Member interface, whose methods must not block.
package call

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/sfu"
)

// Errors returned by Registry and Call; internal/peer maps them to protocol codes.
var (
	ErrFull            = errors.New("call is full")
	ErrDuplicateID     = errors.New("participant already in the call")
	ErrDuplicateDevice = errors.New("this device is already in the call")
	ErrNoRecipient     = errors.New("no such participant in the call")
	ErrTrackExists     = errors.New("track id already published")
	ErrUnknownTrack    = errors.New("no such track")
	ErrNotMember       = errors.New("not a member of the call")
	ErrClosed          = errors.New("server is shutting down")
	ErrForbidden       = errors.New("not allowed")
)

// Member is one participant as the call sees it. The call invokes these
// methods with its lock held, in the order events happen; implementations
// queue the event and return at once.
type Member interface {
	ID() string
	Name() string
	// Device is the id of the member's enrolled device; Credential its
	// credential as the member presented it (already verified by the
	// server; every client verifies it again).
	Device() string
	Credential() protocol.Credential
	// Side and Roles come from the credential; the call enforces what the
	// roles allow (internal/role) and which side one may act on.
	Side() string
	Roles() []role.Role
	// Removed: another member removed this one (byName); the call has
	// already dropped it, and the member should close its connection.
	Removed(byName string)
	// Admission: the kind of call it joins and whether the call names it.
	Admission() Admission
	// Subscribe: a track of another member became available.
	Subscribe(pub Publication)
	// Unsubscribe: that track ended.
	Unsubscribe(pub Publication)
	// RosterChanged: membership or published tracks changed.
	RosterChanged(roster []protocol.RosterEntry)
	// DeliverKey: another member sent this member a key message (From set).
	DeliverKey(k protocol.Key)
}

// Publication is a published track with its publisher.
type Publication struct {
	Publisher     string // participant id
	PublisherName string
	Info          protocol.TrackInfo
	Track         *sfu.Track
}

// Recorder keeps the history of calls; internal/store implements it. Errors
// are the recorder's to log: a failing disk must not stop a live call.
type Recorder interface {
	MemberJoined(call, memberID, name string)
	MemberLeft(call, memberID string)
}

// Registry holds the live calls of one server.
type Registry struct {
	maxMembers int
	rec        Recorder

	mu     sync.Mutex
	calls  map[string]*Call
	closed bool
}

// NewRegistry makes a registry; maxMembers bounds each call's size (16 if
// not positive), and never above protocol.MaxParticipants: the roster of a
// larger call would not fit in one message.
func NewRegistry(maxMembers int, rec Recorder) *Registry {
	if maxMembers <= 0 {
		maxMembers = 16
	}
	maxMembers = min(maxMembers, protocol.MaxParticipants)
	return &Registry{maxMembers: maxMembers, rec: rec, calls: make(map[string]*Call)}
}

// Call is one live call.
type Call struct {
	name string
	reg  *Registry

	mu      sync.Mutex
	kind    string   // of the first member's admission; every member must agree
	members []*entry // in join order
	// over: the last member left, and the call is (or is about to be) out
	// of the registry; a Join that finds it makes a new call instead.
	over bool
}

type entry struct {
	m      Member
	state  State
	tracks []Publication // in publish order
}

// Join adds m to the call named name, creating the call if needed. The new
// member is sent a Subscribe for every existing track; everyone gets the new roster.
func (r *Registry) Join(name string, m Member) (*Call, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	c := r.calls[name]
	if c == nil {
		c = &Call{name: name, reg: r}
		r.calls[name] = c
	}
	// Lock order: registry, then call. (Leave never takes the registry's
	// lock while it holds the call's.)
	c.mu.Lock()
	if c.over {
		c.mu.Unlock()
		c = &Call{name: name, reg: r}
		r.calls[name] = c
		c.mu.Lock()
	}
	r.mu.Unlock()
	defer c.mu.Unlock()
	if len(c.members) >= r.maxMembers {
		return nil, fmt.Errorf("%w: %d participants", ErrFull, r.maxMembers)
	}
	for _, e := range c.members {
		if e.m.ID() == m.ID() {
			return nil, ErrDuplicateID
		}
		if e.m.Device() == m.Device() {
			return nil, ErrDuplicateDevice
		}
	}
	a := m.Admission()
	if a.Kind == "" {
		a.Kind = KindVideo
	}
	if len(c.members) == 0 {
		c.kind = a.Kind
	}
	if a.Kind != c.kind {
		return nil, fmt.Errorf("%w: a %q member in a %q call", ErrForbidden, a.Kind, c.kind)
	}
	e := &entry{m: m}
	c.members = append(c.members, e)
	c.setStateLocked(e, initialState(m, a))
	c.broadcastRoster()
	if r.rec != nil {
		r.rec.MemberJoined(name, m.ID(), m.Name())
	}
	return c, nil
}

// Publish makes a member's track available to every other member.
func (c *Call) Publish(memberID string, info protocol.TrackInfo, t *sfu.Track) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.find(memberID)
	if e == nil {
		return ErrNotMember
	}
	for _, p := range e.tracks {
		if p.Info.ID == info.ID {
			return fmt.Errorf("%w: %q", ErrTrackExists, info.ID)
		}
	}
	pub := Publication{Publisher: memberID, PublisherName: e.m.Name(), Info: info, Track: t}
	e.tracks = append(e.tracks, pub)
	if e.state == StateIn {
		for _, o := range c.members {
			if o != e && o.receives() {
				o.m.Subscribe(pub)
			}
		}
	}
	c.broadcastRoster()
	return nil
}

// Unpublish ends a member's track at everyone else and closes it.
func (c *Call) Unpublish(memberID, trackID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.find(memberID)
	if e == nil {
		return ErrNotMember
	}
	for i, p := range e.tracks {
		if p.Info.ID == trackID {
			e.tracks = append(e.tracks[:i], e.tracks[i+1:]...)
			c.endLocked(e, p)
			c.broadcastRoster()
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrUnknownTrack, trackID)
}

// RelayKey hands a key message from one member to another. The call does
// not look inside: the key is sealed to the recipient.
func (c *Call) RelayKey(fromID string, k protocol.Key) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.find(fromID) == nil {
		return ErrNotMember
	}
	to := c.find(k.To)
	if to == nil || k.To == fromID {
		return fmt.Errorf("%w: %q", ErrNoRecipient, k.To)
	}
	k.To, k.From = "", fromID
	to.m.DeliverKey(k)
	return nil
}

// Remove takes target out of the call at by's request: by's roles must
// allow remove_participant and target must be of by's side (one side never
// acts on the other's people). The target's tracks end, everyone gets the
// new roster (so the remaining members rekey), and the target is told.
func (c *Call) Remove(byID, targetID string) error {
	c.mu.Lock()
	defer c.forgetIfOver()
	defer c.mu.Unlock()
	by, target, err := c.actorAndTarget(byID, targetID, role.RemoveParticipant)
	if err != nil {
		return err
	}
	c.leaveLocked(target)
	target.m.Removed(by.m.Name())
	return nil
}

// Leave removes a member: its tracks end everywhere. Leaving twice is harmless.
func (c *Call) Leave(memberID string) {
	c.mu.Lock()
	if e := c.find(memberID); e != nil {
		c.leaveLocked(e)
	}
	c.mu.Unlock()
	c.forgetIfOver()
}

// forgetIfOver takes an empty call out of the registry. It runs without the
// call's lock (lock order: registry, then call); over never goes back to
// false, so reading it late is safe.
func (c *Call) forgetIfOver() {
	c.mu.Lock()
	over := c.over
	c.mu.Unlock()
	if !over {
		return
	}
	c.reg.mu.Lock()
	if c.reg.calls[c.name] == c {
		delete(c.reg.calls, c.name)
	}
	c.reg.mu.Unlock()
}

func (c *Call) leaveLocked(e *entry) {
	memberID := e.m.ID()
	for i, x := range c.members {
		if x == e {
			c.members = append(c.members[:i], c.members[i+1:]...)
			break
		}
	}
	for _, p := range e.tracks {
		c.endLocked(e, p)
	}
	e.tracks = nil
	c.broadcastRoster()
	if c.reg.rec != nil {
		c.reg.rec.MemberLeft(c.name, memberID)
	}
	if len(c.members) == 0 {
		c.over = true
	}
}

func (c *Call) endLocked(owner *entry, p Publication) {
	p.Track.Close()
	if owner.state != StateIn {
		return // nobody receives it
	}
	for _, o := range c.members {
		if o != owner && o.receives() {
			o.m.Unsubscribe(p)
		}
	}
}

// Roster returns the current roster.
func (c *Call) Roster() []protocol.RosterEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rosterLocked()
}

func (c *Call) rosterLocked() []protocol.RosterEntry {
	out := make([]protocol.RosterEntry, 0, len(c.members))
	for _, e := range c.members {
		re := protocol.RosterEntry{ID: e.m.ID(), Device: e.m.Device(), Name: e.m.Name(), Credential: e.m.Credential(),
			State: string(e.state), Tracks: make([]protocol.TrackInfo, 0, len(e.tracks))}
		for _, p := range e.tracks {
			re.Tracks = append(re.Tracks, p.Info)
		}
		out = append(out, re)
	}
	return out
}

func (c *Call) broadcastRoster() {
	for _, e := range c.members {
		// Each member gets its own copy: members queue it and read it later.
		e.m.RosterChanged(c.rosterLocked())
	}
}

func (c *Call) find(id string) *entry {
	for _, e := range c.members {
		if e.m.ID() == id {
			return e
		}
	}
	return nil
}

// Calls lists the live calls' names, sorted.
func (r *Registry) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.calls))
	for n := range r.calls {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CallCount is the number of live calls.
func (r *Registry) CallCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// Participants counts members over all live calls.
func (r *Registry) Participants() int {
	r.mu.Lock()
	calls := make([]*Call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	n := 0
	for _, c := range calls {
		c.mu.Lock()
		n += len(c.members)
		c.mu.Unlock()
	}
	return n
}

// Close refuses new joins from now on (server shutdown). Live sessions are
// ended by their owners.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}
