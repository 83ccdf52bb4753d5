// Package audit is a line's call record (docs/PROTOCOL.md, "Call
// record"): an append-only log of what happened on the line — booked calls
// requested, accepted, started, ended; members joining, admitted, called
// in, sent out, removed, leaving; sender key epochs; statements the
// endpoints sign of what they saw; chain heads each side's operator signs —
// in which every entry carries the hash of the one before it. Whoever keeps
// a signed head, or an export, can tell later whether the server rewrote
// anything before it.
//
// The package is the encoding, the hashing and the verification, shared by
// the server (which appends, internal/store) and `hotline audit verify`
// (which checks an export against the line's pins, trusting nothing the
// server says). It knows nothing of HTTP, SQL or live calls.
package audit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// Kind says what an entry records.
type Kind string

// The kinds of entries. A booked call's transitions come from its workflow
// (internal/booking, written in the transition's own transaction); the live
// call's from its events (internal/call, by the server's lifecycle); key
// from the keys the server relays; witness and head from the endpoints.
const (
	// Booked call: Call is its id, Side and Name who acted.
	Requested Kind = "requested"
	Accepted  Kind = "accepted"
	Declined  Kind = "declined"
	Cancelled Kind = "cancelled"
	Started   Kind = "started"
	Ended     Kind = "ended"

	// Live call: Call is its name on the line; Participant, Device, Name,
	// Side the member.
	Opened   Kind = "opened"    // the first member joined
	Joined   Kind = "joined"    // To: the state it joined in (in, lobby, bench); Reason "kept its place" when an earlier admission put it there
	Admitted Kind = "admitted"  // lobby → in
	CalledIn Kind = "called_in" // bench → in
	SentOut  Kind = "sent_out"  // in → bench
	Moved    Kind = "moved"     // any other move: From, To
	Left     Kind = "left"      // From: the state it left from
	Removed  Kind = "removed"   // By: who removed it
	Closed   Kind = "closed"    // Reason: "ended" (By: who) or "empty"

	// Key: the member started sending under KID (docs/PROTOCOL.md, "Key
	// messages"): the server saw its first key message of that KID. The key
	// itself is sealed; its commitment comes in the sender's witness.
	Key Kind = "key"
	// Witness: Statement is a member's signed statement (WitnessBody).
	Witness Kind = "witness"
	// Head: Statement is an operator's signed head (HeadBody).
	Head Kind = "head"
	// Readout: a side published the readout Ref (ReadoutID) of Call;
	// Name, Side, Device: who signed it. The readout itself is kept and
	// served beside the record, signed.
	Readout Kind = "readout"
	// Segment: the live call's press segment changed To (public, private);
	// Marker is the signed marker (internal/marker) that changed it, which
	// a verifier checks against the pins: who pressed it, and that they
	// may.
	Segment Kind = "segment"

	// Probe: a readiness probe's result was stored (internal/readiness).
	// Call is the test call (run), Side and Device the probe's, OK its
	// verdict, Reason why not; Report is the signed report as the probe
	// device made it (internal/probe), which a verifier checks against the
	// pins and the fields above.
	Probe Kind = "probe"
	// Alert: the line's readiness changed From → To (green, degraded,
	// down, unknown) with Reason, judged after the result of test call
	// Call; the server's own judgement, signed by no one.
	Alert Kind = "alert"
)

// knownKinds: a verifier refuses an entry of another kind (a newer server
// that adds kinds bumps the entry's version).
var knownKinds = map[Kind]bool{
	Requested: true, Accepted: true, Declined: true, Cancelled: true, Started: true, Ended: true,
	Opened: true, Joined: true, Admitted: true, CalledIn: true, SentOut: true, Moved: true,
	Left: true, Removed: true, Closed: true, Key: true, Witness: true, Head: true, Readout: true, Segment: true,
	Probe: true, Alert: true,
}

// Entry is one entry of a line's record, its fields in the order of its
// canonical encoding (docs/PROTOCOL.md, "Call record"). Absent fields are
// left out of the encoding.
type Entry struct {
	V    int    `json:"v"`
	Line string `json:"line"`
	Seq  uint64 `json:"seq"`  // 1, 2, … within the line
	Prev string `json:"prev"` // b64u of the previous entry's hash; Genesis for seq 1
	At   int64  `json:"at"`   // unix milliseconds, the server's clock
	Kind Kind   `json:"kind"`

	Call        string  `json:"call,omitempty"`
	Participant string  `json:"participant,omitempty"`
	Device      string  `json:"device,omitempty"`
	Name        string  `json:"name,omitempty"`
	Side        string  `json:"side,omitempty"`
	From        string  `json:"from,omitempty"`
	To          string  `json:"to,omitempty"`
	By          string  `json:"by,omitempty"`
	Reason      string  `json:"reason,omitempty"`
	KID         *uint64 `json:"kid,omitempty"`
	Ref         string  `json:"ref,omitempty"`
	Statement   *Signed `json:"statement,omitempty"`

	// Added with segment, probe and alert entries (after every older
	// field, so older entries encode as they did).
	OK     *bool            `json:"ok,omitempty"`     // probe
	Report *Signed          `json:"report,omitempty"` // probe: the signed report
	Marker *protocol.Marker `json:"marker,omitempty"` // segment: the signed marker
}

// Version is the entry version this package writes and reads.
const Version = 1

// MaxEntry bounds one entry's encoding: a statement with its credential
// (about 3 KiB) fits with room.
const MaxEntry = 16 << 10

// labelEntry starts the hash of every entry (docs/PROTOCOL.md, "Encodings").
const labelEntry = "hotline-record-v1\x00"

// Genesis is the prev of a line's first entry: 32 zero bytes.
var Genesis = trust.B64(make([]byte, sha256.Size))

// ErrMalformed: bytes that are not an entry (or export) as the spec says.
var ErrMalformed = errors.New("malformed")

// Encode is e's canonical encoding: the bytes that are stored, exported and
// hashed.
func Encode(e Entry) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	b, err := trust.Canonical(e)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if len(b) > MaxEntry {
		return nil, fmt.Errorf("record: %w: entry of %d bytes, at most %d", ErrMalformed, len(b), MaxEntry)
	}
	return b, nil
}

// Hash is the hash of an entry's encoding: SHA-256("hotline-record-v1\0" ||
// bytes).
func Hash(encoded []byte) []byte {
	h := sha256.New()
	h.Write([]byte(labelEntry))
	h.Write(encoded)
	return h.Sum(nil)
}

// Parse decodes one entry's encoding strictly: canonical JSON (internal/trust's
// rule), version 1, a known kind, fields within bounds. It checks nothing
// about the chain.
func Parse(data []byte) (Entry, error) {
	var e Entry
	if len(data) > MaxEntry {
		return e, fmt.Errorf("%w: entry of %d bytes, at most %d", ErrMalformed, len(data), MaxEntry)
	}
	if err := trust.DecodeCanonical(data, &e); err != nil {
		return e, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := e.check(); err != nil {
		return e, err
	}
	return e, nil
}

func (e Entry) check() error {
	switch {
	case e.V != Version:
		return fmt.Errorf("%w: version %d, want %d", ErrMalformed, e.V, Version)
	case e.Line == "" || len(e.Line) > 64:
		return fmt.Errorf("%w: line name", ErrMalformed)
	case e.Seq == 0 || e.Seq > trust.MaxTime:
		return fmt.Errorf("%w: seq %d", ErrMalformed, e.Seq)
	case e.At < 0 || e.At > trust.MaxTime:
		return fmt.Errorf("%w: time %d", ErrMalformed, e.At)
	case !knownKinds[e.Kind]:
		return fmt.Errorf("%w: unknown kind %q", ErrMalformed, e.Kind)
	}
	prev, err := trust.DecodeB64(e.Prev)
	if err != nil || len(prev) != sha256.Size {
		return fmt.Errorf("%w: prev is not a b64u SHA-256", ErrMalformed)
	}
	if e.Seq == 1 && e.Prev != Genesis {
		return fmt.Errorf("%w: the first entry's prev is not 32 zero bytes", ErrMalformed)
	}
	if e.KID != nil && *e.KID >= 1<<48 {
		return fmt.Errorf("%w: kid over 2^48-1", ErrMalformed)
	}
	if (e.Kind == Witness || e.Kind == Head) != (e.Statement != nil) {
		return fmt.Errorf("%w: a %s entry with or without a statement", ErrMalformed, e.Kind)
	}
	if (e.Kind == Probe) != (e.Report != nil) || (e.Kind == Probe) != (e.OK != nil) {
		return fmt.Errorf("%w: a %s entry with or without a probe's report", ErrMalformed, e.Kind)
	}
	if (e.Kind == Segment) != (e.Marker != nil) {
		return fmt.Errorf("%w: a %s entry with or without a segment marker", ErrMalformed, e.Kind)
	}
	if e.Kind == Alert && (e.From == "" || e.To == "") {
		return fmt.Errorf("%w: an alert without its states", ErrMalformed)
	}
	return nil
}

// Link fills e's seq and prev to follow the entry of seq prevSeq and hash
// prevHash (prevSeq 0: e is the first), and returns its encoding and hash.
func Link(e Entry, prevSeq uint64, prevHash []byte) (Entry, []byte, []byte, error) {
	e.V, e.Seq = Version, prevSeq+1
	if prevSeq == 0 {
		e.Prev = Genesis
	} else {
		e.Prev = trust.B64(prevHash)
	}
	b, err := Encode(e)
	if err != nil {
		return e, nil, nil, err
	}
	return e, b, Hash(b), nil
}

// sameHash compares a b64u hash with raw bytes.
func sameHash(b64u string, h []byte) bool {
	got, err := trust.DecodeB64(b64u)
	return err == nil && bytes.Equal(got, h)
}
