// Package trust is hotline's trust layer (docs/PROTOCOL.md, "Trust and key
// protocol"): the two sides' authorities and their files, devices and their
// enrolment requests, the credentials an authority signs, join proofs, and
// the identifiers derived from a device's signing key (device id, sender
// tag, KID).
//
// Everything a peer sends is checked here against the pins a device took
// when it was enrolled, never against what the server says. Decoders are
// strict and bounded: a body that is not exactly what the spec allows is
// refused before anything in it is believed.
package trust

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// Context labels (docs/PROTOCOL.md, "Encodings"): every signature and every
// hash input starts with one, ending in a zero byte, so that bytes signed for
// one purpose are never valid for another.
const (
	labelAuthority  = "hotline-authority-v1\x00"
	labelEnrolment  = "hotline-enrolment-v1\x00"
	labelCredential = "hotline-credential-v1\x00"
	labelJoin       = "hotline-join-v3\x00"
)

// Sizes fixed by the spec.
const (
	SigKeySize    = 32   // Ed25519 public key
	SignatureSize = 64   // Ed25519 signature
	KEMKeySize    = 1216 // X-Wing public key (ML-KEM-768 1184 + X25519 32)
	SeedSize      = 32   // Ed25519 seed, X-Wing private key
	NonceSize     = 32   // join challenge
	MaxBodySize   = 4096 // request and credential bodies, in bytes
	// MaxTime bounds every time in a body: the largest integer a JavaScript
	// number holds exactly, so the browser reads the same value.
	MaxTime = 1<<53 - 1
)

// b64 is base64url without padding (RFC 4648 §5). Strict: it refuses
// padding, the standard alphabet, line breaks and non-zero trailing bits, so
// that each byte string has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// B64 encodes b as the spec's b64u.
func B64(b []byte) string { return b64.EncodeToString(b) }

// ErrBase64 is returned for a string that is not canonical base64url.
var ErrBase64 = errors.New("not canonical base64url without padding")

// DecodeB64 decodes a b64u string strictly.
func DecodeB64(s string) ([]byte, error) {
	// Go's decoder skips '\r' and '\n' even in strict mode; the browser's
	// does not, and neither may we.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, ErrBase64
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, ErrBase64
	}
	return b, nil
}

// decodeB64Len decodes a b64u string that must hold exactly n bytes.
func decodeB64Len(what, s string, n int) ([]byte, error) {
	if len(s) != b64.EncodedLen(n) {
		return nil, fmt.Errorf("%s: %d base64url characters, want %d", what, len(s), b64.EncodedLen(n))
	}
	b, err := DecodeB64(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// AppendStr16 appends str16(s) = u16(len(s)) || s (docs/PROTOCOL.md,
// "Encodings"). It fails for strings longer than 65535 bytes, which no
// valid line or call name is.
func AppendStr16(b []byte, s string) ([]byte, error) {
	if len(s) > 0xffff {
		return nil, fmt.Errorf("%d bytes do not fit a str16", len(s))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...), nil
}
