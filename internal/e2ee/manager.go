// Package e2ee runs one participant's end-to-end encryption in a call
// (docs/PROTOCOL.md, "Key messages", "When keys move", "Verification code"):
// it verifies the roster against the pinned authorities, keeps this sender's
// epoch keys and the keys received from others, seals and opens key
// messages, and computes the verification code. Frames themselves are
// encrypted by internal/sframe with the Sender and Receiver it keeps up to
// date. The browser's copy is internal/web/static/e2ee/session.js.
package e2ee

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"time"

	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/route"
	"hotline/internal/sframe"
	"hotline/internal/trust"
)

// Timing of a rekey (docs/PROTOCOL.md): a sender encrypts with a new key
// RekeyDelay after sending it, so that it arrives first; a receiver keeps a
// sender's previous key KeepOld after the newer one arrives, for frames in
// flight.
const (
	DefaultRekeyDelay = 500 * time.Millisecond
	DefaultKeepOld    = 2 * time.Second
)

// Config is what a Manager needs.
type Config struct {
	Device     *trust.Device // this endpoint's keys, credential and pins
	Line, Call string
	// Send transmits a key message (To set). It is called without the
	// manager's lock held and must not call back into the manager.
	Send       func(protocol.Key)
	RekeyDelay time.Duration // 0: DefaultRekeyDelay
	KeepOld    time.Duration // 0: DefaultKeepOld
	Now        func() time.Time
	// MaxEpoch is this sender's last epoch; 0: math.MaxUint16, the last
	// the KID holds. Tests lower it to reach the end of the epochs in a few
	// rekeys instead of 65,535.
	MaxEpoch uint16
	// Exhausted, if set, is called once (without the manager's lock held)
	// when a rekey is due after MaxEpoch: the sender has stopped, and the
	// endpoint should leave and join again, which gives it a new
	// participant id and so a new sender tag with its epochs afresh
	// (docs/PROTOCOL.md, "Epochs").
	Exhausted func()
	// Rand is where base keys come from; nil: crypto/rand. Tests make it
	// fail to check that the sender then stops (fail closed).
	Rand io.Reader
}

// Forgery is a roster entry that failed verification (CheckRoster).
type Forgery struct {
	ID, Name, Reason string
	Verdict          string // CheckRoster's verdict, e.g. VerdictRepeatedTag
}

// Stats counts what the manager did.
type Stats struct {
	KeysSent, KeysAccepted, KeysRejected int
	Epoch                                uint16
	// KeyFailures counts rekeys that failed (no fresh key could be made
	// or installed): each stopped the sender until a later one succeeded.
	KeyFailures int
	// RevocationsRefused counts revocation lists in rosters that did not
	// verify or were older than the one held (docs/PROTOCOL.md,
	// "Revocation"); the held list stays in force.
	RevocationsRefused int
}

// Manager is one participant's key state. Safe for concurrent use.
type Manager struct {
	cfg    Config
	self   *trust.Identity
	sender *sframe.Sender
	recv   *sframe.Receiver

	mu        sync.Mutex
	selfID    string
	selfIn    bool // our roster entry says we are in the call (not lobby or bench) and our roles receive media
	epoch     uint16
	key       []byte // current own base key (already sent; maybe not yet used)
	kid       uint64
	members   map[string]*member // verified members other than self, by participant id
	forgeries []Forgery
	stats     Stats
	timers    map[*time.Timer]bool // pending rekey switches and key removals
	revs      trust.Revocations    // the newest verified revocation list of each side; never goes back
	exhausted bool                 // MaxEpoch is over: the sender has stopped
	started   bool                 // the first key (of selfID's stay) is made
	stalled   bool                 // a rekey failed: the sender has stopped until a fresh key is in place
	closed    bool
	// segment is the call's segment as this client believes it (from the
	// last marker it verified, never from the roster's word alone);
	// segErr why the last roster's claim was refused, if it was.
	segment marker.State
	segErr  error
}

type member struct {
	id      string
	who     *trust.Identity
	tag     uint32 // the sender tag of its KIDs: of its sig_key and id
	sentKID uint64 // which of our KIDs this member has been sent; 0: none
	sent    bool
	kid     uint64 // the member's newest key that we hold
	key     []byte
	has     bool
}

// New makes a manager. Its first key (epoch 0) is made by SetSelfID: a
// KID's sender tag hashes the participant id of this stay (trust.KID).
func New(cfg Config) (*Manager, error) {
	if cfg.Device == nil || cfg.Device.Credential == nil {
		return nil, errors.New("e2ee: the device has no credential")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RekeyDelay <= 0 {
		cfg.RekeyDelay = DefaultRekeyDelay
	}
	if cfg.KeepOld <= 0 {
		cfg.KeepOld = DefaultKeepOld
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.MaxEpoch == 0 {
		cfg.MaxEpoch = math.MaxUint16
	}
	self, err := trust.VerifyCredential(*cfg.Device.Credential, cfg.Device.Pins, cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("e2ee: own credential: %w", err)
	}
	return &Manager{cfg: cfg, self: self, sender: &sframe.Sender{}, recv: &sframe.Receiver{},
		members: map[string]*member{}, timers: map[*time.Timer]bool{}}, nil
}

// Sender encrypts this endpoint's frames with its current key.
func (m *Manager) Sender() *sframe.Sender { return m.sender }

// Receiver decrypts others' frames with the keys received.
func (m *Manager) Receiver() *sframe.Receiver { return m.recv }

// Self is this endpoint's verified identity.
func (m *Manager) Self() *trust.Identity { return m.self }

// SetSelfID records this participant's id (from the welcome message) and
// makes the first key of this stay, epoch 0, in use at once: the KIDs of
// a stay carry the sender tag of the device and this id. A manager is one
// stay: another id later is refused (a resumed session keeps its id).
func (m *Manager) SetSelfID(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		if id != m.selfID {
			return fmt.Errorf("e2ee: participant id %q after %q: a new stay needs a new manager", id, m.selfID)
		}
		return nil
	}
	m.selfID = id
	if err := m.newKeyLocked(0); err != nil {
		m.failLocked()
		return err
	}
	if err := m.sender.SetKey(m.kid, m.key); err != nil {
		m.failLocked()
		return err
	}
	m.started = true
	return nil
}

func (m *Manager) newKeyLocked(epoch uint16) error {
	key := make([]byte, 16)
	if _, err := io.ReadFull(m.cfg.Rand, key); err != nil {
		return fmt.Errorf("e2ee: a new base key: %w", err)
	}
	m.epoch, m.key, m.kid = epoch, key, trust.KID(m.self.SigKey, m.selfID, epoch)
	m.stats.Epoch = epoch
	return nil
}

// SetRoster applies a roster: verifies every entry, reports forgeries,
// starts a new epoch if a verified member has gone, and sends the current
// key to every verified member that lacks it.
func (m *Manager) SetRoster(r protocol.Roster) {
	entries := r.Participants
	now := m.cfg.Now()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	// The segment decides whether the press gets keys: take it from the
	// marker, failing closed (docs/PROTOCOL.md, "Segments").
	m.segment, m.segErr = marker.Check(r, m.cfg.Line, m.cfg.Call, m.cfg.Device.Pins, now, m.segment)
	segment := m.segment.Segment
	next := make(map[string]*member, len(entries))
	var forged []Forgery
	m.selfIn = false
	// Our media as the routing rule sees it, were we in the call: whether
	// we are is selfIn's business (out of the call we send no keys at all).
	self := route.Member{State: protocol.StateIn, Roles: m.self.Roles, Listening: protocol.ListenFloor}
	for _, e := range entries {
		if e.ID == m.selfID {
			self.Listening = e.Listening
		}
	}
	// Revocation lists: each verified against our pins and the line; one
	// older than the side's list we hold is refused, and the held one stays
	// in force even in a roster that leaves it out (a server cannot take a
	// revocation back).
	for _, rl := range r.Revocations {
		if _, err := m.revs.Add(trust.Revocation{Body: rl.Body, Sig: rl.Sig}, m.cfg.Device.Pins, m.cfg.Line); err != nil {
			m.stats.RevocationsRefused++
		}
	}
	for i, c := range CheckRosterRevoked(entries, m.selfID, m.self.SigKey, m.cfg.Device.Pins, now, m.revs.Revoked) {
		e := entries[i]
		if c.Verdict == VerdictSelf {
			// We are a key member as the others judge it: one their media
			// (and keys) would go to, by the routing rule — in the call,
			// with a credential that lets us receive media. Anyone else
			// (the lobby, the bench, an operator) sends no key: no member
			// would accept it (docs/PROTOCOL.md, "Keys follow the media").
			m.selfIn = route.Keyed(segment, route.Member{State: e.State, Roles: m.self.Roles, Listening: e.Listening},
				route.Member{State: protocol.StateIn, Listening: protocol.ListenFloor})
			continue
		}
		if c.Forged() {
			name := e.Name
			if c.Who != nil {
				name = c.Who.Name
			}
			forged = append(forged, Forgery{ID: e.ID, Name: name, Reason: c.Reason, Verdict: c.Verdict})
			continue
		}
		who := c.Who
		// Keys follow the media (internal/route, the server's rule too):
		// only to members our media is routed to, from the roster's state
		// and segment and the credential's roles — so not to the lobby or
		// the bench, never to an operator. Leaving this set counts as
		// leaving: the others rekey.
		if !route.Keyed(segment, route.Member{State: e.State, Roles: who.Roles, Listening: e.Listening}, self) {
			continue
		}
		old := m.members[e.ID]
		if old != nil && old.who.SigKey.Equal(who.SigKey) {
			next[e.ID] = old
		} else {
			next[e.ID] = &member{id: e.ID, who: who, tag: trust.SenderTag(who.SigKey, e.ID)}
		}
	}
	left := false
	for id, old := range m.members {
		if n := next[id]; n == nil || n != old {
			left = true
			if old.has {
				m.recv.RemoveKey(old.kid)
			}
		}
	}
	m.members, m.forgeries = next, forged
	if !m.selfIn {
		// Out of the call, the others drop our key: once back in, everyone
		// gets it again.
		for _, mem := range m.members {
			mem.sent = false
		}
	}
	wasExhausted := m.exhausted
	if m.started && (left || m.stalled) {
		m.rekeyLocked()
	}
	out := m.pendingSendsLocked()
	exhaustedNow := m.exhausted && !wasExhausted
	m.mu.Unlock()
	m.send(out)
	if exhaustedNow && m.cfg.Exhausted != nil {
		m.cfg.Exhausted()
	}
}

// ResendOnNextRoster makes the next roster send our current key to every
// member again. A client that resumed its session over a new socket calls
// it: key messages it sent on the dead socket may never have arrived.
func (m *Manager) ResendOnNextRoster() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mem := range m.members {
		mem.sent = false
	}
}

// rekeyLocked starts a new epoch: the new key goes to the current members
// now (pendingSends), and encrypts frames RekeyDelay later. After MaxEpoch
// (65535) there is none: the sender stops for good (frames are dropped, no
// key is sent) rather than wrap to a KID it used, and Config.Exhausted
// tells the endpoint to leave and rejoin: a new stay, a new sender tag,
// epochs afresh (docs/PROTOCOL.md, "Epochs").
//
// It fails closed: when no fresh key can be made (crypto/rand failing) or
// installed, the sender stops at once — the old key is one a departed
// member holds — and sends nothing until a later roster's rekey succeeds.
func (m *Manager) rekeyLocked() {
	if m.epoch >= m.cfg.MaxEpoch {
		m.exhausted = true
		m.sender.Stop()
		return
	}
	if err := m.newKeyLocked(m.epoch + 1); err != nil {
		m.failLocked()
		return
	}
	m.stalled = false
	for _, mem := range m.members {
		mem.sent = false
	}
	kid, key := m.kid, m.key
	m.afterLocked(m.cfg.RekeyDelay, func() {
		// Not overtaken by a later rekey, nor stopped by a failed one (a
		// member who left since holds this key).
		if m.kid == kid && !m.exhausted && !m.stalled {
			if err := m.sender.SetKey(kid, key); err != nil {
				m.failLocked()
			}
		}
	})
}

// failLocked stops the sender after a failed rekey: no frame goes out
// under a key a departed member holds, and no key message either, until
// a fresh key is in place (the next roster tries again).
func (m *Manager) failLocked() {
	m.stalled = true
	m.stats.KeyFailures++
	m.sender.Stop()
}

// afterLocked runs f with the lock held after d, unless the manager is
// closed first. m.mu is held.
func (m *Manager) afterLocked(d time.Duration, f func()) {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.timers, t)
		if !m.closed {
			f()
		}
	})
	m.timers[t] = true
}

func (m *Manager) pendingSendsLocked() []protocol.Key {
	if !m.started || !m.selfIn || m.exhausted || m.stalled {
		return nil // in the lobby, on the bench, an operator, out of epochs or without a fresh key: we send nothing
	}
	var out []protocol.Key
	for _, mem := range m.members {
		if mem.sent && mem.sentKID == m.kid {
			continue
		}
		sealed, sig, err := SealKey(m.cfg.Device.SigPrivate(), m.self.SigKey, mem.who, m.kid, m.cfg.Line, m.cfg.Call, m.selfID, mem.id, m.key)
		if err != nil {
			continue
		}
		mem.sent, mem.sentKID = true, m.kid
		m.stats.KeysSent++
		out = append(out, protocol.Key{Type: protocol.TypeKey, To: mem.id, KID: m.kid,
			Sealed: trust.B64(sealed), Sig: trust.B64(sig)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].To < out[j].To })
	return out
}

func (m *Manager) send(out []protocol.Key) {
	for _, k := range out {
		m.cfg.Send(k)
	}
}

// Errors of HandleKey.
var (
	ErrKeyFromStranger = errors.New("key from a participant that is not a verified member")
	ErrKeyStale        = errors.New("key of an older epoch than one already held")
)

// HandleKey accepts a key message from another member, or rejects it.
func (m *Manager) HandleKey(k *protocol.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.handleKeyLocked(k)
	if err != nil {
		m.stats.KeysRejected++
	} else {
		m.stats.KeysAccepted++
	}
	return err
}

func (m *Manager) handleKeyLocked(k *protocol.Key) error {
	mem := m.members[k.From]
	if mem == nil {
		return fmt.Errorf("%w: %q", ErrKeyFromStranger, k.From)
	}
	tag, epoch, ok := trust.SplitKID(k.KID)
	if !ok {
		return fmt.Errorf("e2ee: bad kid %d", k.KID)
	}
	if tag != mem.tag {
		// The KID names another sender, or another stay of this one: a key
		// of an earlier stay replayed after a rejoin is refused here.
		return fmt.Errorf("%w: kid %d", ErrKeyWrongSender, k.KID)
	}
	if mem.has {
		_, held, _ := trust.SplitKID(mem.kid)
		if epoch < held {
			return ErrKeyStale
		}
		if k.KID == mem.kid {
			return nil // a repeat of the key we hold: harmless
		}
	}
	sealed, err := trust.DecodeB64(k.Sealed)
	if err != nil {
		return err
	}
	sig, err := trust.DecodeB64(k.Sig)
	if err != nil {
		return err
	}
	key, err := OpenKey(m.cfg.Device, mem.who, k.KID, m.cfg.Line, m.cfg.Call, k.From, m.selfID, sealed, sig)
	if err != nil {
		return err
	}
	if err := m.recv.AddKey(k.KID, key); err != nil {
		return err
	}
	if mem.has {
		old := mem.kid
		m.afterLocked(m.cfg.KeepOld, func() { m.recv.RemoveKey(old) })
	}
	mem.kid, mem.key, mem.has = k.KID, key, true
	return nil
}

// SenderOf returns the participant whose key carries kid's sender tag, if a
// verified member; receivers check that a track's frames come from its
// publisher.
func (m *Manager) SenderOf(kid uint64) (string, bool) {
	tag, _, ok := trust.SplitKID(kid)
	if !ok {
		return "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, mem := range m.members {
		if mem.tag == tag {
			return id, true
		}
	}
	return "", false
}

// Code is the verification code, or ok=false while some verified member's
// current key is missing.
func (m *Manager) Code() (code string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms := []CodeMember{{SigKey: m.self.SigKey, KID: m.kid, BaseKey: m.key}}
	for _, mem := range m.members {
		if !mem.has {
			return "", false
		}
		ms = append(ms, CodeMember{SigKey: mem.who.SigKey, KID: mem.kid, BaseKey: mem.key})
	}
	return VerificationCode(m.cfg.Line, m.cfg.Call, ms), true
}

// Witness is what this member states it sees (internal/audit's witness
// statement): its own KID and key commitment, the sig_keys of the verified
// members, its own first, and the code ("" while pending).
func (m *Manager) Witness() (kid uint64, commitment []byte, sigKeys [][]byte, code string) {
	code, _ = m.Code()
	m.mu.Lock()
	defer m.mu.Unlock()
	sigKeys = [][]byte{m.self.SigKey}
	for _, mem := range m.members {
		sigKeys = append(sigKeys, mem.who.SigKey)
	}
	return m.kid, KeyCommitment(m.kid, m.key), sigKeys, code
}

// Forgeries lists the roster entries that failed verification (current roster).
func (m *Manager) Forgeries() []Forgery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Forgery(nil), m.forgeries...)
}

// Segment is the call's segment as this client believes it (the last
// marker it verified), and why the last roster's claim was refused, if it
// was.
func (m *Manager) Segment() (marker.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.segment, m.segErr
}

// Members returns the verified members' identities by participant id.
func (m *Manager) Members() map[string]*trust.Identity {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]*trust.Identity, len(m.members))
	for id, mem := range m.members {
		out[id] = mem.who
	}
	return out
}

// Revoked reports whether a verified revocation list this manager holds
// names device.
func (m *Manager) Revoked(device string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.revs.Revoked(device)
}

// Stats reports counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// KID is this sender's newest KID.
func (m *Manager) KID() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.kid
}

// Close stops pending timers.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for t := range m.timers {
		t.Stop()
	}
	clear(m.timers)
}
