// Package call holds live calls: who is in each, what each publishes, and who
// receives what. It decides; it does not move media (internal/sfu does),
// speak to clients (internal/peer does) or store anything (internal/server's
// lifecycle does, from the events this package emits).
//
// Two ways out of a call (docs/ARCHITECTURE.md, "The live call"):
//   - Member: the sinks of one participant's session (subscribe, unsubscribe,
//     roster, key, removed, ended). The call invokes them with its lock held,
//     in the order things happen; they queue and return at once.
//   - Events (events.go): opened, joined, moved, left, closed, collected
//     under the call's lock and delivered after it is released, in order,
//     through a bounded queue per subscriber (Registry.Subscribe).
package call

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/sfu"
)

// Errors returned by Registry and Call; internal/peer maps them to protocol codes.
var (
	ErrFull         = errors.New("call is full")
	ErrDuplicateID  = errors.New("participant already in the call")
	ErrNoRecipient  = errors.New("no such participant in the call")
	ErrTrackExists  = errors.New("track id already published")
	ErrUnknownTrack = errors.New("no such track")
	ErrNotMember    = errors.New("not a member of the call")
	// ErrNotKeyed: a key message whose sender is not a key member, or
	// whose recipient does not receive the sender's media (RelayKey).
	ErrNotKeyed  = errors.New("key message not between key members")
	ErrClosed    = errors.New("server is shutting down")
	ErrForbidden = errors.New("not allowed")
	ErrEnded     = errors.New("the call has ended")
)

// ReplacedBy is who "removed" a member whose device joined the call again
// on a new connection (see Registry.Join).
const ReplacedBy = "a newer connection of the same device"

// Identity is who a member is, fixed when it joins: what the server's gate
// established from the credential and the booking.
type Identity struct {
	ID     string // participant id, unique within the server's lifetime
	Name   string // from the credential
	Device string // the enrolled device's id
	// Credential as the member presented it (already verified by the
	// server; every client verifies it again).
	Credential protocol.Credential
	// Side and Roles come from the credential; the call enforces what the
	// roles allow (internal/role) and which side one may act on.
	Side       string
	Roles      []role.Role
	Admission  Admission
	Interprets string // the booth asked for at join ("": none; interpret.go, boothAtJoinLocked)
}

// Member is where the call tells one participant's session what happens.
// The call invokes these methods with its lock held, in the order events
// happen; implementations queue the event and return at once.
type Member interface {
	// Subscribe: a track of another member is now routed to this one.
	Subscribe(pub Publication)
	// Unsubscribe: that track is no longer routed here (it ended, or a
	// member moved).
	Unsubscribe(pub Publication)
	// RosterChanged: membership, states or published tracks changed.
	RosterChanged(roster protocol.Roster)
	// DeliverKey: another member sent this member a key message (From set).
	DeliverKey(k protocol.Key)
	// Removed: another member removed this one (byName); the call has
	// already dropped it, and the member should close its connection.
	Removed(byName string)
	// Ended: the call was ended for everyone (Registry.End) by by, for why;
	// the call has already dropped every member.
	Ended(by, why string)
}

// Publication is a published track with its publisher.
type Publication struct {
	Publisher     string // participant id
	PublisherName string
	Info          protocol.TrackInfo
	Track         *sfu.Track
}

// Config is a registry's settings; the zero value of each field is its default.
type Config struct {
	MaxMembers int // per call; default 16
	// EmptyGrace is how long a live call stays open with nobody in it
	// before it closes (and a booked call ends): a network blip that drops
	// everyone must not end the talks. Default DefaultEmptyGrace.
	EmptyGrace time.Duration
	// Capacity bounds each subscriber's queue of undelivered events;
	// default DefaultCapacity.
	Capacity int
}

// DefaultEmptyGrace: long enough for every client to reconnect after a
// network change or a server restart.
const DefaultEmptyGrace = 60 * time.Second

// maxEndedNames bounds the names of ended calls the registry refuses to
// reopen; the booking's state refuses a booked call's id for good.
const maxEndedNames = 1024

// Registry holds the live calls of one server.
type Registry struct {
	cfg    Config
	closed atomic.Bool

	mu    sync.Mutex
	calls map[string]*Call
	ended map[string]bool
	order []string // ended, oldest first

	// revMu guards revoked (a leaf lock: rosters read it with a call's
	// lock held).
	revMu   sync.Mutex
	revoked map[string]*lineRevocations // by line (revocation.go)

	ev events
}

// NewRegistry makes a registry. MaxMembers is never above
// protocol.MaxParticipants: the roster of a larger call would not fit in one
// message.
func NewRegistry(cfg Config) *Registry {
	if cfg.MaxMembers <= 0 {
		cfg.MaxMembers = 16
	}
	cfg.MaxMembers = min(cfg.MaxMembers, protocol.MaxParticipants)
	if cfg.EmptyGrace <= 0 {
		cfg.EmptyGrace = DefaultEmptyGrace
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	return &Registry{cfg: cfg, calls: make(map[string]*Call), ended: make(map[string]bool)}
}

// Call is one live call.
type Call struct {
	name string
	reg  *Registry

	mu      sync.Mutex
	kind    string           // of the first member's admission (or Resume's); every member must agree
	booking string           // the booked call's id, from the first member's admission; "" ad hoc
	opening time.Duration    // the booked public opening (Admission.Opening); 0: none
	segment string           // protocol.SegmentPrivate or SegmentPublic (segment.go)
	seq     uint32           // the last marker's Seq; 0 before the first
	marker  *protocol.Marker // the last marker, carried by every roster
	interp  interpretation   // languages and mode (interpret.go)
	members []*entry
	// over: the call closed (it was ended, or stayed empty past the
	// grace) and is out of the registry; a Join never finds it.
	over bool
	// grace fires when the call has been empty for EmptyGrace; empties
	// counts the times it became empty, so that a timer of an earlier
	// emptiness does nothing.
	grace   *time.Timer
	empties int
	// droppedKeys counts key messages RelayKey refused (not between key
	// members).
	droppedKeys int
	// last is the identity of the member who left last (the closed event
	// names its side).
	last Identity
	// placed: by device, the state the last admission action on it gave
	// (admit, call in, send out). A device that joins the call again (its
	// connection was lost) goes back there rather than to its join state;
	// removal forgets it (admission.go, keptPlace).
	placed map[string]State
}

type entry struct {
	id        Identity
	sink      Member
	state     State
	listening string
	booth     booth         // an interpreter's seat (interpret.go)
	tracks    []Publication // in publish order
	got       map[pubKey]bool
	// kid is the KID of the last key message it sent (keyed: it sent one).
	kid   uint64
	keyed bool
}

// pubKey names a publication within a call.
type pubKey struct{ publisher, track string }

func keyOf(p Publication) pubKey { return pubKey{p.Publisher, p.Info.ID} }

// Join adds a member to the call named name, opening the call if needed.
// The new member is sent a Subscribe for every track routed to it;
// everyone gets the new roster. A call ended with End is not reopened.
func (r *Registry) Join(name string, id Identity, sink Member) (*Call, error) {
	c, err := r.join(name, id, sink)
	r.ev.flush()
	return c, err
}

func (r *Registry) join(name string, id Identity, sink Member) (*Call, error) {
	// Lock order: registry, then call, then the event buffer.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return nil, ErrClosed
	}
	if r.ended[name] {
		return nil, fmt.Errorf("%w: %s", ErrEnded, name)
	}
	if r.revokedDevice(lineOf(name), id.Device) {
		return nil, ErrRevoked // not even to replace its own session (below)
	}
	c, opened := r.calls[name], false
	if c == nil {
		c, opened = &Call{name: name, reg: r, segment: protocol.SegmentPrivate}, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.members {
		if e.id.ID == id.ID {
			return nil, ErrDuplicateID
		}
	}
	// A device joining a call it is still in replaces its earlier session:
	// that one's connection was lost and the server has not noticed yet
	// (docs/PROTOCOL.md, "Reconnecting"). Only the device can ask, since
	// the join proved possession of its key over a fresh challenge.
	for _, e := range c.members {
		if e.id.Device == id.Device {
			c.leaveLocked(e, "replaced by "+ReplacedBy)
			e.sink.Removed(ReplacedBy)
			break
		}
	}
	if len(c.members) >= r.cfg.MaxMembers {
		return nil, fmt.Errorf("%w: %d participants", ErrFull, r.cfg.MaxMembers)
	}
	if id.Admission.Kind == "" {
		id.Admission.Kind = KindVideo
	}
	if opened {
		c.kind, c.booking, c.interp = id.Admission.Kind, id.Admission.Booking, opening(id.Admission)
		c.opening = id.Admission.Opening
	}
	if id.Admission.Kind != c.kind {
		return nil, fmt.Errorf("%w: a %q member in a %q call", ErrForbidden, id.Admission.Kind, c.kind)
	}
	if err := c.boothAtJoinLocked(id); err != nil {
		return nil, err
	}
	if opened {
		r.calls[name] = c
		c.emit(Event{Kind: EventOpened})
	}
	if c.grace != nil {
		c.grace.Stop()
		c.grace = nil
	}
	e := &entry{id: id, sink: sink, listening: protocol.ListenFloor, got: make(map[pubKey]bool)}
	c.members = append(c.members, e)
	e.state = initialState(id)
	why := ""
	if kept, ok := c.keptPlace(id, e.state); ok {
		e.state, why = kept, WhyKept
	}
	c.seatAtJoinLocked(e)
	if pressOnly(id.Roles) {
		e.state, why = c.pressState(), ""
	}
	c.emit(Event{Kind: EventJoined, Member: id, To: e.state, Why: why})
	c.syncLocked(e)
	c.broadcastRoster()
	return c, nil
}

// Name is the live call's name, "<line>/<call>".
func (c *Call) Name() string { return c.name }

// Publish makes a member's track available to every member it routes to.
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
	info, err := c.channelLocked(e, info)
	if err != nil {
		return err
	}
	pub := Publication{Publisher: memberID, PublisherName: e.id.Name, Info: info, Track: t}
	e.tracks = append(e.tracks, pub)
	for _, o := range c.members {
		c.deliver(o, pub, c.routes(o, e, pub))
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
			c.endLocked(p)
			c.broadcastRoster()
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrUnknownTrack, trackID)
}

// RelayKey hands a key message from one member to another. The call does
// not look inside: the key is sealed to the recipient. Keys follow the
// media (docs/PROTOCOL.md, "Keys follow the media"): a key message goes
// only from a key member to a member that key member's media is routed
// to, by the routing rule and the server's own view of both. Any other is
// dropped (ErrNotKeyed), so that a member in the lobby or on the bench
// cannot push keys at the call; a message that crossed a move of either
// end is dropped the same way, and the sender's next roster sorts it out.
func (c *Call) RelayKey(fromID string, k protocol.Key) error {
	defer c.reg.ev.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	from := c.find(fromID)
	if from == nil {
		return ErrNotMember
	}
	to := c.find(k.To)
	if to == nil || k.To == fromID {
		return fmt.Errorf("%w: %q", ErrNoRecipient, k.To)
	}
	if !c.keyedLocked(to, from) {
		c.droppedKeys++
		return ErrNotKeyed
	}
	k.To, k.From = "", fromID
	to.sink.DeliverKey(k)
	if !from.keyed || from.kid != k.KID {
		// A sender's first key message of a KID: it keys a new epoch (the
		// call record notes it; the key itself stays sealed).
		from.keyed, from.kid = true, k.KID
		c.emit(Event{Kind: EventKey, Member: from.id, KID: k.KID})
	}
	return nil
}

// DroppedKeys counts the key messages RelayKey dropped as not between key
// members.
func (c *Call) DroppedKeys() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.droppedKeys
}

// Remove takes target out of the call at by's request: by's roles must
// allow remove_participant and target must be of by's side (one side never
// acts on the other's people). The target's tracks end, everyone gets the
// new roster (so the remaining members rekey), and the target is told.
func (c *Call) Remove(byID, targetID string) error {
	defer c.reg.ev.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	by, target, err := c.actorAndTarget(byID, targetID, role.RemoveParticipant)
	if err != nil {
		return err
	}
	delete(c.placed, target.id.Device) // a removed device starts again from its join state
	c.leaveLocked(target, "removed by "+by.id.Name)
	target.sink.Removed(by.id.Name)
	return nil
}

// Leave removes a member: its tracks end everywhere. Leaving twice is harmless.
func (c *Call) Leave(memberID string) {
	c.mu.Lock()
	if e := c.find(memberID); e != nil {
		c.leaveLocked(e, "left")
	}
	c.mu.Unlock()
	c.reg.ev.flush()
}

func (c *Call) leaveLocked(e *entry, why string) {
	for i, x := range c.members {
		if x == e {
			c.members = append(c.members[:i], c.members[i+1:]...)
			break
		}
	}
	for _, p := range e.tracks {
		c.endLocked(p)
	}
	e.tracks = nil
	c.leaveBoothLocked(e)
	c.emit(Event{Kind: EventLeft, Member: e.id, From: e.state, Why: why})
	c.broadcastRoster()
	c.last = e.id
	if len(c.members) == 0 && !c.over && !c.reg.closed.Load() {
		c.graceLocked()
	}
}

// graceLocked starts the grace of an empty call: it closes EmptyGrace from
// now unless someone joins first.
func (c *Call) graceLocked() {
	c.empties++
	n := c.empties
	c.grace = time.AfterFunc(c.reg.cfg.EmptyGrace, func() { c.reg.expire(c, n) })
}

// expire closes c if it is still empty since its n-th emptiness.
func (r *Registry) expire(c *Call, n int) {
	r.mu.Lock()
	c.mu.Lock()
	if c.over || c.empties != n || len(c.members) > 0 || r.closed.Load() {
		c.mu.Unlock()
		r.mu.Unlock()
		return
	}
	c.closeLocked(Event{Kind: EventClosed, Member: c.last, Why: WhyEmpty})
	c.mu.Unlock()
	r.mu.Unlock()
	r.ev.flush()
}

// closeLocked takes the call out of the registry (both locks held).
func (c *Call) closeLocked(ev Event) {
	c.over = true
	if c.grace != nil {
		c.grace.Stop()
		c.grace = nil
	}
	if c.reg.calls[c.name] == c {
		delete(c.reg.calls, c.name)
	}
	c.emit(ev)
}

// End ends the live call named name for everyone: each member is told
// (Member.Ended) and dropped, the call closes at once, and the name is
// refused from then on (a booked call is not reopened after it ended).
// by names who ended it, why says why. It reports whether a live call of
// that name was open.
func (r *Registry) End(name, by, why string) bool {
	defer r.ev.flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended[name] {
		r.ended[name] = true
		r.order = append(r.order, name)
		if len(r.order) > maxEndedNames {
			delete(r.ended, r.order[0])
			r.order = r.order[1:]
		}
	}
	c := r.calls[name]
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	members := c.members
	c.members = nil
	for _, e := range members {
		for _, p := range e.tracks {
			p.Track.Close()
		}
		e.tracks = nil
		c.emit(Event{Kind: EventLeft, Member: e.id, From: e.state, Why: WhyEnded})
		e.sink.Ended(by, why)
	}
	c.closeLocked(Event{Kind: EventClosed, Why: WhyEnded, By: by, Reason: why})
	return true
}

// endLocked closes a track and unsubscribes everyone who had it.
func (c *Call) endLocked(p Publication) {
	p.Track.Close()
	for _, o := range c.members {
		c.deliver(o, p, false)
	}
}

// Roster returns the current roster.
func (c *Call) Roster() protocol.Roster {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rosterLocked()
}

func (c *Call) rosterLocked() protocol.Roster {
	out := make([]protocol.RosterEntry, 0, len(c.members))
	for _, e := range c.members {
		re := protocol.RosterEntry{ID: e.id.ID, Device: e.id.Device, Name: e.id.Name, Credential: e.id.Credential,
			State: string(e.state), Listening: e.listening, Tracks: make([]protocol.TrackInfo, 0, len(e.tracks)),
			Interprets: e.booth.interprets, Live: e.booth.live, HandOver: e.booth.handOver}
		for _, p := range e.tracks {
			re.Tracks = append(re.Tracks, p.Info)
		}
		out = append(out, re)
	}
	return protocol.Roster{Type: protocol.TypeRoster, Segment: c.segment, Participants: out, Marker: c.marker,
		Languages: c.interp.languages, Mode: c.interp.mode,
		Revocations: c.reg.revocationLists(lineOf(c.name)), Opening: c.opening.Milliseconds()}
}

func (c *Call) broadcastRoster() {
	for _, e := range c.members {
		// Each member gets its own copy: members queue it and read it later.
		e.sink.RosterChanged(c.rosterLocked())
	}
}

func (c *Call) find(id string) *entry {
	for _, e := range c.members {
		if e.id.ID == id {
			return e
		}
	}
	return nil
}

// Close refuses new joins from now on (server shutdown). Signalling sessions are
// ended by their owners. Nothing closes after this: a server shutdown is
// not the end of a call (a booked call stays live, to be rejoined when the
// server is back), so the grace timers stop and no closed event follows.
func (r *Registry) Close() {
	r.closed.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		c.mu.Lock()
		if c.grace != nil {
			c.grace.Stop()
			c.grace = nil
		}
		c.mu.Unlock()
	}
}

// Resume opens an empty live call named name, as if its last member had
// just left: for a booked call that was live when the server stopped. Its
// members may come back (the call goes on); if nobody does within the
// grace, it closes like any empty call. It reports false if the call is
// already open, was ended, or the registry is closed.
func (r *Registry) Resume(name string, a Admission) bool {
	defer r.ev.flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() || r.ended[name] || r.calls[name] != nil {
		return false
	}
	if a.Kind == "" {
		a.Kind = KindVideo
	}
	c := &Call{name: name, reg: r, segment: protocol.SegmentPrivate, kind: a.Kind, booking: a.Booking, interp: opening(a), opening: a.Opening}
	c.mu.Lock()
	defer c.mu.Unlock()
	r.calls[name] = c
	c.emit(Event{Kind: EventOpened})
	c.graceLocked()
	return true
}
