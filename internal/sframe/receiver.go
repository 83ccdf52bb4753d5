package sframe

import (
	"fmt"
	"sync"
)

// Receiver decrypts incoming frames with the keys it has been given, by KID,
// and refuses replays. It is safe for concurrent use (the audio and the
// video transform share one): frames are decrypted one at a time under its
// lock, which also makes "authenticate, then check and advance the replay
// window" one step. The zero value is ready to use.
type Receiver struct {
	mu      sync.Mutex
	keys    map[uint64]*rxKey
	scratch scratch
}

// rxKey is one KID's key and the replay state of the frames it opened.
type rxKey struct {
	key *Key
	win window
}

// AddKey adds the key for kid. Adding the key a KID already has changes
// nothing (its replay window is kept, so a re-delivered key cannot reopen
// old frames). A different base key for a known KID replaces the old one,
// with a fresh window: frames of the old key do not authenticate under it.
func (r *Receiver) AddKey(kid uint64, baseKey []byte) error {
	if len(baseKey) != BaseKeyLen {
		return fmt.Errorf("%w (got %d)", ErrKeyLength, len(baseKey))
	}
	r.mu.Lock()
	if e := r.keys[kid]; e != nil && e.key.sameBase(baseKey) {
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	k, err := NewKey(kid, baseKey) // HKDF outside the lock
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.keys[kid]; e != nil && e.key.sameBase(baseKey) {
		return nil // added meanwhile by another caller
	}
	if r.keys == nil {
		r.keys = make(map[uint64]*rxKey)
	}
	r.keys[kid] = &rxKey{key: k}
	return nil
}

// RemoveKey forgets kid's key; its frames then fail with ErrUnknownKID.
func (r *Receiver) RemoveKey(kid uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.keys, kid)
}

// HasKey reports whether the Receiver holds a key for kid.
func (r *Receiver) HasKey(kid uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[kid] != nil
}

// failure ranks why a candidate reading of a frame failed, so that the most
// informative reason is reported: a frame that reached a key and failed its
// tag says more than one whose KID is unknown, which says more than bytes
// that do not parse.
type failure struct {
	rank int
	kid  uint64
	err  error
}

func (f *failure) note(rank int, kid uint64, err error) {
	if f.err == nil || rank > f.rank {
		*f = failure{rank, kid, err}
	}
}

// Decrypt authenticates and decrypts one encrypted frame and appends the
// original frame (clear bytes || plaintext) to dst. It returns the frame's
// KID, which the caller checks against the sender it expects on this track
// (docs/PROTOCOL.md). dst must not overlap frame; with enough capacity
// (len(frame)) nothing is allocated.
//
// The clear length comes from the frame's first byte and kind, as on the
// sending side. A frame shorter than its clear prefix was sent whole in
// clear with nothing encrypted (clear || header || tag), so its clear length
// cannot be told from its first byte: when the full prefix does not give an
// authentic frame, each shorter clear length c after which exactly a header
// and a tag remain is tried, longest first. At most one reading can
// authenticate (the clear bytes and the header are both in the AAD).
//
// The replay window (ReplayWindow CTRs ending at the highest CTR accepted
// for the KID) is consulted and advanced only once the frame is authentic
// (RFC 9605 §9.3), so forged frames cannot move it.
func (r *Receiver) Decrypt(dst []byte, kind Kind, frame []byte) (kid uint64, out []byte, err error) {
	if len(frame) == 0 {
		return 0, dst, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := prefixLen(kind, frame[0])
	var fail failure
	for c := min(p, len(frame)-1); c >= 0; c-- {
		kid, ctr, n, err := ParseHeader(frame[c:])
		if err != nil {
			fail.note(0, 0, err)
			continue
		}
		rest := len(frame) - c - n
		if c < p && rest != TagLen {
			continue // not a frame sent whole in clear
		}
		if rest < TagLen {
			fail.note(0, kid, fmt.Errorf("%w: %d bytes after the header, shorter than a tag", ErrMalformed, rest))
			continue
		}
		e := r.keys[kid]
		if e == nil {
			fail.note(1, kid, fmt.Errorf("%w: %d", ErrUnknownKID, kid))
			continue
		}
		out, err := e.key.open(&r.scratch, append(dst, frame[:c]...), frame[c:c+n], frame[c+n:], frame[:c], ctr)
		if err != nil {
			fail.note(2, kid, err)
			continue
		}
		// Authentic: only now may the window be consulted and moved.
		if err := e.win.accept(ctr); err != nil {
			return kid, dst, fmt.Errorf("%w (KID %d): %w", ErrReplay, kid, err)
		}
		return kid, out, nil
	}
	if fail.err == nil {
		fail.err = fmt.Errorf("%w: %d bytes", ErrMalformed, len(frame))
	}
	return fail.kid, dst, fail.err
}

// window is the anti-replay state of one KID: the highest CTR accepted and
// a bitmap of which of the ReplayWindow CTRs ending at it were accepted
// (RFC 3711 §3.3.2's sliding window, applied to the SFrame CTR as RFC 9605
// §9.3 suggests). Bit i of the map (word i/64, bit i%64) stands for CTR
// top−i.
type window struct {
	started bool
	top     uint64
	bits    [ReplayWindow / 64]uint64
}

// accept records ctr as seen, or says why it must be refused: it was
// already accepted, or it is ReplayWindow or more below the highest CTR
// accepted, too old to tell. The first CTR of a key may be anything (a
// member joining mid-call starts wherever the sender is).
func (w *window) accept(ctr uint64) error {
	switch {
	case !w.started:
		*w = window{started: true, top: ctr}
		w.bits[0] = 1
	case ctr > w.top:
		w.shift(ctr - w.top)
		w.top = ctr
		w.bits[0] |= 1
	default:
		d := w.top - ctr
		if d >= ReplayWindow {
			return fmt.Errorf("CTR %d is older than the window (highest %d)", ctr, w.top)
		}
		word, bit := &w.bits[d/64], d%64
		if *word&(1<<bit) != 0 {
			return fmt.Errorf("CTR %d already seen", ctr)
		}
		*word |= 1 << bit
	}
	return nil
}

// shift moves the bitmap up by s positions as the highest CTR grows by s.
func (w *window) shift(s uint64) {
	if s >= ReplayWindow {
		w.bits = [ReplayWindow / 64]uint64{}
		return
	}
	words, b := int(s/64), s%64
	for i := len(w.bits) - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = w.bits[j] << b
			if b != 0 && j > 0 {
				v |= w.bits[j-1] >> (64 - b)
			}
		}
		w.bits[i] = v
	}
}
