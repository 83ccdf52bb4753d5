package trust

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// labelSegment separates a segment marker's signature (docs/PROTOCOL.md,
// "Segments") from every other signature a device makes: a join or API
// session proof can never pass for a marker, nor the reverse.
const labelSegment = "hotline-segment-v1\x00"

// Segment is what a segment marker states: that the call named Call on
// Line enters Segment ("public" or "private") as its Seq-th change, at At
// (Unix milliseconds, the signer's clock).
type Segment struct {
	Line, Call, Segment string
	Seq                 uint32
	At                  int64
}

// message is "hotline-segment-v1\0" || str16(line) || str16(call) ||
// str16(segment) || u32(seq) || u64(at).
func (s Segment) message() ([]byte, error) {
	m := []byte(labelSegment)
	for _, f := range []string{s.Line, s.Call, s.Segment} {
		var err error
		if m, err = AppendStr16(m, f); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	m = binary.BigEndian.AppendUint32(m, s.Seq)
	return binary.BigEndian.AppendUint64(m, uint64(s.At)), nil
}

// SignSegment signs a segment statement with a device's key (nil for a
// statement whose names do not fit a str16, which no verifier accepts).
func SignSegment(priv ed25519.PrivateKey, s Segment) []byte {
	m, err := s.message()
	if err != nil {
		return nil
	}
	return ed25519.Sign(priv, m)
}

// VerifySegment checks a segment statement's signature against the
// signer's sig_key (ErrMalformed for a wrong size, ErrBadSignature
// otherwise).
func VerifySegment(pub ed25519.PublicKey, s Segment, sig []byte) error {
	m, err := s.message()
	switch {
	case err != nil:
		return err
	case len(pub) != ed25519.PublicKeySize || len(sig) != SignatureSize:
		return fmt.Errorf("%w: key or signature size", ErrMalformed)
	case !ed25519.Verify(pub, m, sig):
		return fmt.Errorf("segment marker: %w", ErrBadSignature)
	}
	return nil
}

// labelFootage separates the signature of a recording's manifest (the
// press recorder's, docs/PROTOCOL.md, "Footage") from every other.
const labelFootage = "hotline-footage-v1\x00"

// SignFootage signs a footage manifest's bytes with a device's key.
func SignFootage(priv ed25519.PrivateKey, manifest []byte) []byte {
	return ed25519.Sign(priv, append([]byte(labelFootage), manifest...))
}

// VerifyFootage checks a footage manifest's signature against the
// recorder's sig_key.
func VerifyFootage(pub ed25519.PublicKey, manifest, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize || len(sig) != SignatureSize {
		return fmt.Errorf("%w: key or signature size", ErrMalformed)
	}
	if !ed25519.Verify(pub, append([]byte(labelFootage), manifest...), sig) {
		return fmt.Errorf("footage manifest: %w", ErrBadSignature)
	}
	return nil
}
