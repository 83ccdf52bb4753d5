package trust

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A revocation list (docs/PROTOCOL.md, "Revocation") is a side's signed
// statement that some of its devices are no longer to be trusted: a lost
// or stolen laptop stops being a member at once rather than when its
// credential expires. The server refuses the listed devices and removes
// them from live calls; every client checks the list it gets with the
// roster against its pins and treats a listed member as a forgery, so a
// server that leaves a revoked device in a call is seen doing so.

// labelRevocation starts the signed bytes of a revocation list.
const labelRevocation = "hotline-revocation-v1\x00"

// MaxRevoked bounds the devices of one list. Every roster carries both
// sides' lists, and a roster of the largest call must still fit one
// message with headroom (internal/protocol's TestMaxRosterFits); a list
// names only devices whose credentials have not expired yet (at most 400
// days), so 64 is ample.
const MaxRevoked = 64

// Revocation is a revocation list as signed by an authority: the same
// {body, sig} envelope as a credential.
type Revocation Signed

// RevocationList is what a valid list says.
type RevocationList struct {
	Authority ed25519.PublicKey
	Side      string
	Line      string
	Serial    int64
	Issued    time.Time
	Devices   []string // device ids, sorted, none repeated
}

// Revoked reports whether the list names device id.
func (l *RevocationList) Revoked(device string) bool {
	if l == nil {
		return false
	}
	_, ok := slices.BinarySearch(l.Devices, device)
	return ok
}

// revocationWire is a list's body as signed, fields in the spec's order.
type revocationWire struct {
	V         int      `json:"v"`
	Authority string   `json:"authority"`
	Side      string   `json:"side"`
	Line      string   `json:"line"`
	Serial    int64    `json:"serial"`
	Issued    int64    `json:"issued"`
	Devices   []string `json:"devices"`
}

// ErrLineMismatch: a list for another line than the one it is checked for.
var ErrLineMismatch = errors.New("revocation list for another line")

// ParseRevocation decodes a list's JSON form ({"body","sig"}) strictly.
func ParseRevocation(data []byte) (Revocation, error) {
	var s Signed
	err := decodeSigned(data, &s)
	return Revocation(s), err
}

// validLine is the identifier rule of docs/PROTOCOL.md for line names:
// 1–64 bytes of A–Z a–z 0–9 . - _ (internal/protocol.ValidID).
func validLine(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validDeviceID is a device id: 16 lower-case hex digits.
func validDeviceID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (w *revocationWire) parse() (*RevocationList, error) {
	if w.V != 1 {
		return nil, fmt.Errorf("%w: version %d, want 1", ErrMalformed, w.V)
	}
	auth, err := decodeB64Len("authority", w.Authority, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := ValidSide(w.Side); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !validLine(w.Line) {
		return nil, fmt.Errorf("%w: line name %q", ErrMalformed, w.Line)
	}
	if w.Serial < 1 || w.Serial > MaxTime {
		return nil, fmt.Errorf("%w: serial %d out of range", ErrMalformed, w.Serial)
	}
	if err := checkTime("issued", w.Issued); err != nil {
		return nil, err
	}
	if w.Devices == nil || len(w.Devices) > MaxRevoked {
		return nil, fmt.Errorf("%w: devices missing or over %d", ErrMalformed, MaxRevoked)
	}
	for i, d := range w.Devices {
		if !validDeviceID(d) {
			return nil, fmt.Errorf("%w: device id %q", ErrMalformed, d)
		}
		if i > 0 && w.Devices[i-1] >= d {
			return nil, fmt.Errorf("%w: device ids not sorted or repeated", ErrMalformed)
		}
	}
	return &RevocationList{Authority: auth, Side: w.Side, Line: w.Line, Serial: w.Serial,
		Issued: time.Unix(w.Issued, 0).UTC(), Devices: slices.Clone(w.Devices)}, nil
}

// VerifyRevocation decides whether r is a valid list for line, whose
// authorities are pins. The checks run in this order, the same in the
// browser (static/e2ee/revocation.js):
//
//  1. ErrMalformed: the envelope, the canonical body, v 1, every field
//     (authority 32 bytes, side, line, 1 ≤ serial ≤ 2^53-1, issued a time,
//     devices 0–200 device ids, sorted, none repeated);
//  2. ErrUnknownAuthority: authority is none of the pins;
//  3. ErrSideMismatch: side is not the one pinned with that key;
//  4. ErrLineMismatch: line is not the line it is checked for;
//  5. ErrBadSignature: Ed25519(authority, "hotline-revocation-v1\0" || body).
//
// A list has no expiry: a newer serial replaces it (Newer).
func VerifyRevocation(r Revocation, pins []Pin, line string) (*RevocationList, error) {
	body, sig, err := Signed(r).open()
	if err != nil {
		return nil, err
	}
	var w revocationWire
	if err := decodeBody(body, &w); err != nil {
		return nil, err
	}
	l, err := w.parse()
	if err != nil {
		return nil, err
	}
	var pin *Pin
	for i := range pins {
		if bytes.Equal(pins[i].Key, l.Authority) {
			pin = &pins[i]
			break
		}
	}
	if pin == nil {
		return nil, ErrUnknownAuthority
	}
	if pin.Side != l.Side {
		return nil, fmt.Errorf("%w: list for side %q, authority pinned for %q", ErrSideMismatch, l.Side, pin.Side)
	}
	if l.Line != line {
		return nil, fmt.Errorf("%w: %q, not %q", ErrLineMismatch, l.Line, line)
	}
	if !ed25519.Verify(pin.Key, append([]byte(labelRevocation), body...), sig) {
		return nil, fmt.Errorf("revocation list: %w", ErrBadSignature)
	}
	return l, nil
}

// Revoke signs a revocation list of this authority's side for line: the
// devices (device ids, in any order; repeats are merged), with serial,
// which must be above every earlier list's of the side.
func (a *Authority) Revoke(line string, serial int64, issued time.Time, devices []string) (Revocation, error) {
	ds := slices.Clone(devices)
	slices.Sort(ds)
	ds = slices.Compact(ds)
	if ds == nil {
		ds = []string{}
	}
	w := revocationWire{V: 1, Authority: B64(a.Public), Side: a.Side, Line: line, Serial: serial, Issued: issued.Unix(), Devices: ds}
	if _, err := w.parse(); err != nil {
		return Revocation{}, err
	}
	body, err := canonicalJSON(&w)
	if err != nil {
		return Revocation{}, err
	}
	if len(body) > MaxBodySize {
		return Revocation{}, fmt.Errorf("%w: body is %d bytes, at most %d", ErrMalformed, len(body), MaxBodySize)
	}
	sig := ed25519.Sign(a.private, append([]byte(labelRevocation), body...))
	return Revocation{Body: B64(body), Sig: B64(sig)}, nil
}

// Revocations holds the newest valid list of each side of a line, as a
// server or a client keeps them. The zero value holds none.
type Revocations struct {
	bySide map[string]*RevocationList
}

// ErrOldSerial: a list whose serial is not above the one held for its side.
var ErrOldSerial = errors.New("revocation list serial is not newer than the one held")

// Add verifies r and keeps it if its serial is above the side's current
// one. An equal serial with the same devices is accepted as a repeat
// (false, nil); a lower one, or an equal one that says something else,
// is refused with ErrOldSerial: a list never goes back.
func (rs *Revocations) Add(r Revocation, pins []Pin, line string) (added bool, err error) {
	l, err := VerifyRevocation(r, pins, line)
	if err != nil {
		return false, err
	}
	if added, err = rs.Newer(l); added {
		rs.Put(l)
	}
	return added, err
}

// Newer applies the serial rule to a verified list without keeping it:
// true if its serial is above its side's held one (or none is held),
// false for an exact repeat of the held list, ErrOldSerial otherwise.
func (rs *Revocations) Newer(l *RevocationList) (bool, error) {
	old := rs.bySide[l.Side]
	if old != nil && l.Serial <= old.Serial {
		if l.Serial == old.Serial && slices.Equal(l.Devices, old.Devices) {
			return false, nil
		}
		return false, fmt.Errorf("%w: serial %d, held %d", ErrOldSerial, l.Serial, old.Serial)
	}
	return true, nil
}

// Put keeps a verified list as its side's current one (after Newer).
func (rs *Revocations) Put(l *RevocationList) {
	if rs.bySide == nil {
		rs.bySide = map[string]*RevocationList{}
	}
	rs.bySide[l.Side] = l
}

// Devices lists every device the held lists name, sorted.
func (rs *Revocations) Devices() []string {
	var out []string
	for _, l := range rs.bySide {
		out = append(out, l.Devices...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Revoked reports whether any side's list names device.
func (rs *Revocations) Revoked(device string) bool {
	for _, l := range rs.bySide {
		if l.Revoked(device) {
			return true
		}
	}
	return false
}

// Serial is the serial of side's current list, 0 when none.
func (rs *Revocations) Serial(side string) int64 {
	if l := rs.bySide[side]; l != nil {
		return l.Serial
	}
	return 0
}
