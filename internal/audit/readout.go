package audit

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"hotline/internal/role"
	"hotline/internal/trust"
)

// ReadoutBody is a side's readout of a call (docs/PROTOCOL.md, "Readouts"):
// its press release, Markdown, signed by a press officer's or operator's
// device. A readout is never edited: a correction is a new readout whose
// Corrects names the old one.
type ReadoutBody struct {
	V         int    `json:"v"`
	Line      string `json:"line"`
	Call      string `json:"call"` // the booked call's id
	Side      string `json:"side"` // the signer's side
	Text      string `json:"text"` // Markdown, at most MaxReadoutText bytes
	Corrects  string `json:"corrects,omitempty"`
	Published int64  `json:"published"` // unix seconds
}

// MaxReadoutText bounds a readout's text.
const MaxReadoutText = 16 << 10

func (r *ReadoutBody) when() int64 { return r.Published }

func (r *ReadoutBody) check() error {
	switch {
	case r.V != Version || r.Line == "" || r.Call == "" || r.Side == "":
		return fmt.Errorf("%w: readout body", ErrMalformed)
	case r.Text == "" || len(r.Text) > MaxReadoutText || !utf8.ValidString(r.Text):
		return fmt.Errorf("%w: readout text of %d bytes (1 to %d of UTF-8)", ErrMalformed, len(r.Text), MaxReadoutText)
	case r.Corrects != "" && !validReadoutID(r.Corrects):
		return fmt.Errorf("%w: corrects is not a readout id", ErrMalformed)
	}
	return nil
}

// ReadoutRoles may publish a side's readout.
var ReadoutRoles = []role.Role{role.PressOfficer, role.Operator}

// Refusals of a readout that verifies but may not be published.
var (
	ErrNoRight   = errors.New("the signer's roles may not publish a readout (press officer or operator)")
	ErrOtherSide = errors.New("the readout names a side that is not the signer's")
)

// OpenReadout verifies a signed readout against pins: the signature, a
// signer allowed to publish, of the side the readout names.
func OpenReadout(s Signed, pins []trust.Pin) (ReadoutBody, *trust.Identity, error) {
	var r ReadoutBody
	id, err := s.Open(LabelReadout, pins, &r)
	if err != nil {
		return r, nil, err
	}
	if !slices.ContainsFunc(ReadoutRoles, id.HasRole) {
		return r, nil, fmt.Errorf("%w: %s of %s has %v", ErrNoRight, id.Name, id.Side, id.Roles)
	}
	if r.Side != id.Side {
		return r, nil, fmt.Errorf("%w: %s, signed by %s of %s", ErrOtherSide, r.Side, id.Name, id.Side)
	}
	return r, id, nil
}

// ReadoutID names a readout: the first 16 bytes of
// SHA-256("hotline-readout-v1\0" || body), in lower-case hex.
func ReadoutID(s Signed) (string, error) {
	b, err := trust.DecodeB64(s.Body)
	if err != nil {
		return "", fmt.Errorf("%w: readout body", ErrMalformed)
	}
	return hex.EncodeToString(sum([]byte(LabelReadout), b)[:16]), nil
}

func validReadoutID(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 16 && hex.EncodeToString(b) == s
}

// PeekReadout decodes a signed readout's body without verifying it: for
// readouts that were verified when they were published, to show them.
func PeekReadout(s Signed) (ReadoutBody, error) {
	var r ReadoutBody
	b, err := trust.DecodeB64(s.Body)
	if err != nil || len(b) > MaxStatementBody {
		return r, fmt.Errorf("%w: readout body", ErrMalformed)
	}
	if err := trust.DecodeCanonical(b, &r); err != nil {
		return r, fmt.Errorf("%w: readout body: %v", ErrMalformed, err)
	}
	return r, r.check()
}
