package sframe

import (
	"fmt"
	"math"
	"sync"
)

// Sender encrypts a participant's outgoing frames under its current key. It
// is safe for concurrent use: the audio and the video transform share one,
// and the counter they draw from never gives the same CTR twice under a key
// (RFC 9605 §4.4.3 and §9.1). Frames are encrypted one at a time, under the
// lock; AES-GCM runs at gigabytes per second, so audio waits microseconds
// behind a large video frame. The zero value is ready to use; it encrypts
// nothing until SetKey.
type Sender struct {
	mu        sync.Mutex
	key       *Key
	next      uint64 // CTR of the next frame
	exhausted bool   // every CTR of key has been used
	used      map[uint64]struct{}
	scratch   scratch
}

// SetKey makes kid, with its base key, the key for the following frames;
// its counter starts at 0 (RFC 9605 §4.4.1). A KID this Sender has had
// before is refused with ErrKIDReused, since restarting its counter could
// repeat a nonce.
func (s *Sender) SetKey(kid uint64, baseKey []byte) error {
	return s.setKey(kid, baseKey, 0)
}

// setKey is SetKey with the first CTR given: for tests and vectors only,
// which need a frame at a chosen CTR.
func (s *Sender) setKey(kid uint64, baseKey []byte, first uint64) error {
	k, err := NewKey(kid, baseKey)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.used[kid]; ok {
		return fmt.Errorf("%w: %d", ErrKIDReused, kid)
	}
	if s.used == nil {
		s.used = make(map[uint64]struct{})
	}
	s.used[kid] = struct{}{}
	s.key, s.next, s.exhausted = k, first, false
	return nil
}

// KID is the current key's KID, 0 when there is none (see HasKey).
func (s *Sender) KID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key == nil {
		return 0
	}
	return s.key.kid
}

// Stop drops the current key for good: Encrypt refuses every frame
// (ErrNoKey) until SetKey gives a key with a KID never used. A sender whose
// epochs are exhausted stops rather than wrap to a KID it used (RFC 9605
// §4.4.3: a nonce never repeats under one key).
func (s *Sender) Stop() {
	s.mu.Lock()
	s.key = nil
	s.mu.Unlock()
}

// HasKey reports whether SetKey has succeeded.
func (s *Sender) HasKey() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key != nil
}

// Encrypt appends the encrypted form of frame to dst:
//
//	clear || header || ciphertext || tag
//
// where clear is the frame's first ClearBytes(kind, frame) bytes, which are
// also the SFrame metadata (authenticated, RFC 9605 §9.4). dst must not
// overlap frame; with enough capacity (len(frame)+Overhead) nothing is
// allocated.
func (s *Sender) Encrypt(dst []byte, kind Kind, frame []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ctr, err := s.reserve()
	if err != nil {
		return dst, err
	}
	c := ClearBytes(kind, frame)
	out := append(dst, frame[:c]...)
	return k.seal(&s.scratch, out, ctr, frame[:c], frame[c:]), nil
}

// reserve takes the next CTR of the current key. s.mu is held.
func (s *Sender) reserve() (*Key, uint64, error) {
	if s.key == nil {
		return nil, 0, ErrNoKey
	}
	if s.exhausted {
		// RFC 9605 §7.4: senders MUST refuse to encrypt twice with the
		// same key and nonce. 2^64 frames will not happen, but a counter
		// that wrapped would be silent nonce reuse.
		return nil, 0, fmt.Errorf("%w (KID %d)", ErrCounterExhausted, s.key.kid)
	}
	ctr := s.next
	if ctr == math.MaxUint64 {
		s.exhausted = true
	} else {
		s.next++
	}
	return s.key, ctr, nil
}
