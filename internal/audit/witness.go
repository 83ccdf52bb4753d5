package audit

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"

	"hotline/internal/trust"
)

// WitnessBody is what a member of a live call states it saw
// (docs/PROTOCOL.md, "Witness statements"), signed with its device key.
type WitnessBody struct {
	V           int    `json:"v"`
	Line        string `json:"line"`
	Call        string `json:"call"`
	Participant string `json:"participant"` // the signer's participant id in the call
	// KID and Commitment: the signer's own current sender key,
	// SHA-256("hotline-key-commitment-v1\0" || u64(kid) || base_key), as
	// the verification code takes it; never the key.
	KID        uint64 `json:"kid"`
	Commitment string `json:"commitment"`
	// Roster: RosterFingerprint of the members it verified.
	Roster string `json:"roster"`
	// Code: the verification code it shows ("" while pending).
	Code    string `json:"code,omitempty"`
	Segment string `json:"segment,omitempty"` // the press segment it is in, when there is one
	At      int64  `json:"at"`                // unix seconds
}

func (w *WitnessBody) when() int64 { return w.At }

var codeForm = regexp.MustCompile(`^[0-9]{4}( [0-9]{4}){4}$`)

func (w *WitnessBody) check() error {
	c, err1 := trust.DecodeB64(w.Commitment)
	r, err2 := trust.DecodeB64(w.Roster)
	switch {
	case w.V != Version || w.Line == "" || w.Call == "" || w.Participant == "":
		return fmt.Errorf("%w: witness body", ErrMalformed)
	case w.KID >= 1<<48:
		return fmt.Errorf("%w: witness kid", ErrMalformed)
	case err1 != nil || len(c) != sha256.Size, err2 != nil || len(r) != sha256.Size:
		return fmt.Errorf("%w: witness commitment or roster", ErrMalformed)
	case w.Code != "" && !codeForm.MatchString(w.Code):
		return fmt.Errorf("%w: witness code", ErrMalformed)
	case len(w.Segment) > 32:
		return fmt.Errorf("%w: witness segment", ErrMalformed)
	}
	return nil
}

// OpenWitness verifies a signed witness statement against pins.
func OpenWitness(s Signed, pins []trust.Pin) (WitnessBody, *trust.Identity, error) {
	var w WitnessBody
	id, err := s.Open(LabelWitness, pins, &w)
	if err != nil {
		return w, nil, err
	}
	if tag, _, _ := trust.SplitKID(w.KID); tag != trust.SenderTag(id.SigKey, w.Participant) {
		return w, nil, fmt.Errorf("%w: the kid is not the signer's, in this stay", ErrMalformed)
	}
	return w, id, nil
}

// labelRoster starts a roster fingerprint.
const labelRoster = "hotline-roster-v1\x00"

// RosterFingerprint is SHA-256("hotline-roster-v1\0" || the sig_keys of
// the verified members, the signer's own included, sorted bytewise).
func RosterFingerprint(sigKeys [][]byte) []byte {
	ks := slices.Clone(sigKeys)
	slices.SortFunc(ks, func(a, b []byte) int { return slices.Compare(a, b) })
	parts := append([][]byte{[]byte(labelRoster)}, ks...)
	return sum(parts...)
}
