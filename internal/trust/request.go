package trust

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"hotline/internal/role"
)

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// requestWire is a request body as signed, fields in the spec's order
// (docs/PROTOCOL.md, "Enrolment request").
type requestWire struct {
	V int `json:"v"`
	subject
	Created int64 `json:"created"`
}

// subject is what a request and the credential made from it both say about
// a device, in the bodies' field order (embedded, its fields encode inline).
type subject struct {
	Side   string   `json:"side"`
	Name   string   `json:"name"`
	Roles  []string `json:"roles"`
	SigKey string   `json:"sig_key"`
	KEMKey string   `json:"kem_key"`
}

// parse checks the subject's fields in the spec's order; every failure is
// ErrMalformed.
func (w *subject) parse() (roles []role.Role, sigKey, kemKey []byte, err error) {
	if err := ValidSide(w.Side); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := ValidDisplayName(w.Name); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if roles, err = role.ParseList(w.Roles); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if sigKey, err = decodeB64Len("sig_key", w.SigKey, SigKeySize); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if kemKey, err = decodeB64Len("kem_key", w.KEMKey, KEMKeySize); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return roles, sigKey, kemKey, nil
}

// RequestBody is a verified request's content.
type RequestBody struct {
	Side     string
	Name     string
	Roles    []role.Role
	SigKey   ed25519.PublicKey
	KEMKey   []byte
	Created  time.Time
	DeviceID string
}

// parse checks every field of a decoded request body.
func (w *requestWire) parse() (*RequestBody, error) {
	if w.V != 1 {
		return nil, fmt.Errorf("%w: version %d, want 1", ErrMalformed, w.V)
	}
	roles, sigKey, kemKey, err := w.subject.parse()
	if err != nil {
		return nil, err
	}
	if err := checkTime("created", w.Created); err != nil {
		return nil, err
	}
	return &RequestBody{
		Side: w.Side, Name: w.Name, Roles: roles,
		SigKey: sigKey, KEMKey: kemKey,
		Created: time.Unix(w.Created, 0).UTC(), DeviceID: DeviceID(sigKey),
	}, nil
}

// VerifyRequest decodes a request strictly and checks its self-signature,
// sig = Ed25519(sig_key, "hotline-enrolment-v1\0" || body): the proof that
// whoever asks for a credential holds the key it names. Every field is
// checked before the signature (ErrMalformed), so that the Go and browser
// verifiers give the same answer for the same bytes.
func VerifyRequest(r Request) (*RequestBody, error) {
	body, sig, err := Signed(r).open()
	if err != nil {
		return nil, err
	}
	var w requestWire
	if err := decodeBody(body, &w); err != nil {
		return nil, err
	}
	rb, err := w.parse()
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(rb.SigKey, append([]byte(labelEnrolment), body...), sig) {
		return nil, fmt.Errorf("request: %w", ErrBadSignature)
	}
	return rb, nil
}

// NewRequest makes a request for the device whose keys are given and signs
// it with the device's signing key.
func NewRequest(sigPriv ed25519.PrivateKey, kemPub []byte, side, name string, roles []role.Role, created time.Time) (Request, error) {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	w := requestWire{
		V:       1,
		subject: subject{Side: side, Name: name, Roles: names, SigKey: B64(sigPriv.Public().(ed25519.PublicKey)), KEMKey: B64(kemPub)},
		Created: created.Unix(),
	}
	// The same checks a verifier makes, so that nothing invalid is signed.
	if _, err := w.parse(); err != nil {
		return Request{}, err
	}
	body, err := canonicalJSON(&w)
	if err != nil {
		return Request{}, err
	}
	if len(body) > MaxBodySize {
		return Request{}, fmt.Errorf("%w: body is %d bytes, at most %d", ErrMalformed, len(body), MaxBodySize)
	}
	sig := ed25519.Sign(sigPriv, append([]byte(labelEnrolment), body...))
	return Request{Body: B64(body), Sig: B64(sig)}, nil
}
