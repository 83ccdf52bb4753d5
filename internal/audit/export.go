package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"hotline/internal/trust"
)

// Export is a line's record as `hotline audit export` prints it and
// GET /api/lines/{line}/record answers: every entry's encoding, as stored,
// in order of seq.
type Export struct {
	Record  int      `json:"hotline_record"` // 1
	Line    string   `json:"line"`
	Entries []string `json:"entries"`
}

// Bounds of an export.
const (
	MaxExport  = 64 << 20
	MaxEntries = 1 << 20
)

// ParseExport decodes an export strictly and within bounds. It checks the
// shape only; Verify checks the chain.
func ParseExport(data []byte) (Export, error) {
	var x Export
	if err := decodeStrict("export", data, MaxExport, &x); err != nil {
		return x, err
	}
	switch {
	case x.Record != 1:
		return x, fmt.Errorf("%w: hotline_record %d, want 1", ErrMalformed, x.Record)
	case x.Line == "" || len(x.Line) > 64:
		return x, fmt.Errorf("%w: line", ErrMalformed)
	case len(x.Entries) > MaxEntries:
		return x, fmt.Errorf("%w: %d entries, at most %d", ErrMalformed, len(x.Entries), MaxEntries)
	}
	return x, nil
}

// Break is where a chain stops being what was written: Seq is the last
// entry that can still be trusted plus one, or the entry itself that is
// wrong, as Why says.
type Break struct {
	Seq uint64
	Why string
}

func (b *Break) Error() string {
	return fmt.Sprintf("record: chain breaks at seq %d: %s", b.Seq, b.Why)
}

// Mismatch is a signed head that the record no longer matches: the server
// changed (or dropped) entries the head vouched for.
type Mismatch struct {
	Entry  uint64 // the head's entry in the record (0: a head kept outside it)
	Seq    uint64 // the seq the head signed
	Signer string // name (side) of the operator who signed it
	Why    string
}

func (m *Mismatch) Error() string {
	where := "a kept head"
	if m.Entry > 0 {
		where = fmt.Sprintf("the head in entry %d", m.Entry)
	}
	return fmt.Sprintf("record: %s, signed by %s for seq %d, no longer matches: %s", where, m.Signer, m.Seq, m.Why)
}

// ErrMismatch wraps every Mismatch Verify reports.
var ErrMismatch = errors.New("record: signed heads do not match")

// Report is what a verified export holds.
type Report struct {
	Line    string
	Entries int
	Hash    []byte // the last entry's hash (nil: empty)
	Code    string // Code of the last entry ("" when empty)
	Heads   []HeadCheck
	Counts  map[Kind]int
}

// HeadCheck is one signed head found valid.
type HeadCheck struct {
	Entry  uint64 // 0 for a kept head
	Seq    uint64
	Signer string
	Code   string
}

// Verify checks an export against the line's pins: each entry decodes,
// belongs to the line and has the next seq, its prev is the hash of the
// entry before it; every statement in it verifies (a signed head must match
// the entry it names). kept are heads a side kept itself (from `hotline
// audit sign`): each must match too. The first break of the chain is a
// *Break; signed heads that do not match are *Mismatch errors, all of
// them, joined and wrapping ErrMismatch.
func Verify(x Export, pins []trust.Pin, kept []Signed) (Report, error) {
	rep := Report{Line: x.Line, Counts: map[Kind]int{}}
	hashes := make([][]byte, 0, len(x.Entries))
	var mismatches []error
	for i, s := range x.Entries {
		seq := uint64(i + 1)
		e, err := Parse([]byte(s))
		if err != nil {
			return rep, &Break{seq, "entry " + err.Error()}
		}
		switch {
		case e.Line != x.Line:
			return rep, &Break{seq, fmt.Sprintf("the entry is of line %q", e.Line)}
		case e.Seq != seq:
			return rep, &Break{seq, fmt.Sprintf("entry %d is missing or out of place: row %d holds entry %d", seq, seq, e.Seq)}
		case seq > 1 && !sameHash(e.Prev, hashes[i-1]):
			return rep, &Break{seq - 1, fmt.Sprintf("entry %d's prev is not the hash of entry %d: entry %d was changed (or %d's link)", seq, seq-1, seq-1, seq)}
		}
		h := Hash([]byte(s))
		hashes = append(hashes, h)
		rep.Counts[e.Kind]++
		switch e.Kind {
		case Witness:
			w, _, err := OpenWitness(*e.Statement, pins)
			if err != nil {
				return rep, &Break{seq, "witness statement: " + err.Error()}
			}
			if w.Line != x.Line {
				return rep, &Break{seq, "witness statement of another line"}
			}
		case Head:
			hc, m, err := checkHead(*e.Statement, pins, x.Line, hashes[:i])
			if err != nil {
				return rep, &Break{seq, "signed head: " + err.Error()}
			}
			if m != nil {
				m.Entry = seq
				mismatches = append(mismatches, m)
				continue
			}
			hc.Entry = seq
			rep.Heads = append(rep.Heads, hc)
		case Probe:
			if err := checkProbe(e, pins); err != nil {
				return rep, &Break{seq, "probe report: " + err.Error()}
			}
		case Segment:
			if err := checkMarker(e, pins); err != nil {
				return rep, &Break{seq, "segment marker: " + err.Error()}
			}
		}
	}
	rep.Entries = len(hashes)
	if n := len(hashes); n > 0 {
		rep.Hash = hashes[n-1]
		rep.Code = Code(x.Line, uint64(n), rep.Hash)
	}
	for _, k := range kept {
		hc, m, err := checkHead(k, pins, x.Line, hashes)
		if err != nil {
			mismatches = append(mismatches, &Mismatch{Why: "the kept head does not verify: " + err.Error()})
			continue
		}
		if m != nil {
			mismatches = append(mismatches, m)
			continue
		}
		rep.Heads = append(rep.Heads, hc)
	}
	if len(mismatches) > 0 {
		return rep, errors.Join(append([]error{ErrMismatch}, mismatches...)...)
	}
	return rep, nil
}

// checkHead verifies a signed head and compares it with hashes (the
// hashes of entries 1…len): an error when it does not verify, a Mismatch
// when it verifies but the record differs.
func checkHead(s Signed, pins []trust.Pin, line string, hashes [][]byte) (HeadCheck, *Mismatch, error) {
	h, id, err := OpenHead(s, pins)
	if err != nil {
		return HeadCheck{}, nil, err
	}
	signer := id.Name + " (" + id.Side + ")"
	m := &Mismatch{Seq: h.Seq, Signer: signer}
	switch {
	case h.Line != line:
		return HeadCheck{}, nil, fmt.Errorf("%w: a head of line %q", ErrMalformed, h.Line)
	case h.Seq > uint64(len(hashes)):
		m.Why = fmt.Sprintf("the record holds %d entries before it: entries were dropped", len(hashes))
		return HeadCheck{}, m, nil
	case !sameHash(h.Hash, hashes[h.Seq-1]):
		m.Why = fmt.Sprintf("entry %d's hash differs from the one signed: entries up to %d were rewritten", h.Seq, h.Seq)
		return HeadCheck{}, m, nil
	}
	return HeadCheck{Seq: h.Seq, Signer: signer, Code: Code(line, h.Seq, hashes[h.Seq-1])}, nil, nil
}

// decodeStrict decodes one JSON object of at most max bytes into v:
// unknown fields and trailing data refused.
func decodeStrict(what string, data []byte, max int, v any) error {
	if len(data) > max {
		return fmt.Errorf("%w: %s of %d bytes, at most %d", ErrMalformed, what, len(data), max)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the %s", ErrMalformed, what)
	}
	return nil
}
