package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"hotline/internal/role"
	"hotline/internal/trust"
)

// HeadBody is a chain head an operator device signs (`hotline audit
// sign`): the line's entry of seq Seq has hash Hash. Signing it vouches for
// every entry up to it.
type HeadBody struct {
	V      int    `json:"v"`
	Line   string `json:"line"`
	Seq    uint64 `json:"seq"`
	Hash   string `json:"hash"`   // b64u SHA-256
	Signed int64  `json:"signed"` // unix seconds
}

func (h *HeadBody) when() int64 { return h.Signed }

func (h *HeadBody) check() error {
	if h.V != Version || h.Line == "" || h.Seq == 0 || h.Seq > trust.MaxTime {
		return fmt.Errorf("%w: head body", ErrMalformed)
	}
	if b, err := trust.DecodeB64(h.Hash); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("%w: head hash", ErrMalformed)
	}
	return nil
}

// SignerRole is the role whose device may sign a head: each side's operator.
const SignerRole = role.Operator

// ErrNotOperator: a head signed by a device without the operator role.
var ErrNotOperator = fmt.Errorf("the head's signer is not an operator")

// OpenHead verifies a signed head against pins and returns its body and signer.
func OpenHead(s Signed, pins []trust.Pin) (HeadBody, *trust.Identity, error) {
	var h HeadBody
	id, err := s.Open(LabelHead, pins, &h)
	if err != nil {
		return h, nil, err
	}
	if !id.HasRole(SignerRole) {
		return h, nil, fmt.Errorf("%w: %s of %s", ErrNotOperator, id.Name, id.Side)
	}
	return h, id, nil
}

// labelCode starts the hash a head's short code is read from.
const labelCode = "hotline-record-code-v1\x00"

// Code is the short code of the head (line, seq, hash) that both sides read
// to each other out of band: five groups of four digits of
// SHA-256("hotline-record-code-v1\0" || str16(line) || u64(seq) || hash).
func Code(line string, seq uint64, hash []byte) string {
	m, _ := trust.AppendStr16(nil, line) // a line name is at most 64 bytes
	m = binary.BigEndian.AppendUint64(m, seq)
	return digits(sum([]byte(labelCode), m, hash))
}
