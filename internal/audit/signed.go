package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"hotline/internal/trust"
)

// Signed is a statement a device signs (a witness statement, a chain
// head, a readout): its credential, the b64u of the body's canonical JSON,
// and sig = Ed25519(sig_key, label || body), the label naming what the body
// is. It is verified against the line's pins alone, never the server.
type Signed struct {
	Credential trust.Credential `json:"credential"`
	Body       string           `json:"body"`
	Sig        string           `json:"sig"`
}

// Signature labels (docs/PROTOCOL.md, "Encodings").
const (
	LabelWitness = "hotline-witness-v1\x00"
	LabelHead    = "hotline-record-head-v1\x00"
	LabelReadout = "hotline-readout-v1\x00"
)

// MaxStatementBody bounds a signed body (a readout's text and its fields).
const MaxStatementBody = MaxReadoutText + 4<<10

// Errors of a statement that does not verify.
var (
	ErrBadSignature = errors.New("the signature does not verify with the credential's key")
	ErrCredential   = errors.New("the credential is not valid for the line")
)

// Sign signs body (a struct of this package, encoded canonically) for label
// with the device's key, carrying its credential.
func Sign(dev *trust.Device, label string, body any) (Signed, error) {
	if dev.Credential == nil {
		return Signed{}, errors.New("record: the device is not enrolled")
	}
	b, err := trust.Canonical(body)
	if err != nil {
		return Signed{}, fmt.Errorf("record: %w", err)
	}
	sig := ed25519.Sign(dev.SigPrivate(), append([]byte(label), b...))
	return Signed{Credential: *dev.Credential, Body: trust.B64(b), Sig: trust.B64(sig)}, nil
}

// body is a signed body's struct: its time (unix seconds) and its checks.
type body interface {
	when() int64
	check() error
}

// Open verifies s for label: decodes the body into v strictly and checks
// its fields, verifies the credential against pins at the time the body
// says it was made (a credential that expired since still vouches for what
// it signed while valid), then the signature with the credential's
// sig_key. Nothing of s is believed before that.
func (s Signed) Open(label string, pins []trust.Pin, v body) (*trust.Identity, error) {
	b, err := trust.DecodeB64(s.Body)
	if err != nil || len(b) == 0 || len(b) > MaxStatementBody {
		return nil, fmt.Errorf("%w: statement body", ErrMalformed)
	}
	sig, err := trust.DecodeB64(s.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: statement signature", ErrMalformed)
	}
	if err := trust.DecodeCanonical(b, v); err != nil {
		return nil, fmt.Errorf("%w: statement body: %v", ErrMalformed, err)
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	if t := v.when(); t < 0 || t > trust.MaxTime {
		return nil, fmt.Errorf("%w: statement time", ErrMalformed)
	}
	id, err := trust.VerifyCredential(s.Credential, pins, time.Unix(v.when(), 0))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	if !ed25519.Verify(id.SigKey, append([]byte(label), b...), sig) {
		return nil, ErrBadSignature
	}
	return id, nil
}

// digits shows a hash as five groups of four decimal digits, as the
// verification code is shown (docs/PROTOCOL.md, "Verification code").
func digits(h []byte) string {
	out := make([]byte, 0, 24)
	for i := range 5 {
		if i > 0 {
			out = append(out, ' ')
		}
		out = fmt.Appendf(out, "%04d", binary.BigEndian.Uint16(h[2*i:])%10000)
	}
	return string(out)
}

// sum is SHA-256 of the concatenation of parts.
func sum(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// maxSignedJSON bounds a signed statement's JSON form: its credential, a
// body of MaxStatementBody in b64u, a signature and the keys.
const maxSignedJSON = 48 << 10

// ParseSigned decodes a signed statement's JSON form strictly (unknown
// fields, trailing data and oversize refused). It verifies nothing.
func ParseSigned(data []byte) (Signed, error) {
	var s Signed
	if err := decodeStrict("statement", data, maxSignedJSON, &s); err != nil {
		return s, err
	}
	if s.Body == "" || s.Sig == "" || s.Credential.Body == "" || s.Credential.Sig == "" {
		return s, fmt.Errorf("%w: statement without body, signature or credential", ErrMalformed)
	}
	return s, nil
}
