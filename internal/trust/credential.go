package trust

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"hotline/internal/role"
)

// Verification outcomes besides ErrMalformed and ErrBadSignature
// (docs/PROTOCOL.md, "Credential").
var (
	// ErrUnknownAuthority: the credential names an authority key that is
	// not one of the pins.
	ErrUnknownAuthority = errors.New("unknown authority")
	// ErrSideMismatch: the credential's side is not the side pinned with
	// its authority (or a request's side is not the authority's).
	ErrSideMismatch = errors.New("side does not match the authority's")
	// ErrNotYetValid: issued more than ClockSkew after now.
	ErrNotYetValid = errors.New("not yet valid")
	// ErrExpired: now is at or after expires.
	ErrExpired = errors.New("expired")
)

// MaxLifetime bounds a credential's lifetime, expires − issued, in
// seconds: 400 days. A lost device stays trusted until its credential
// expires or its side revokes it (docs/PROTOCOL.md, "Revocation"); a
// credential valid for longer is malformed, whoever signed it.
const MaxLifetime = 400 * 24 * 3600

// ClockSkew is how far in the future a credential's issue time may be
// (docs/PROTOCOL.md: issued ≤ now + 5 min), for clocks that disagree a
// little.
const ClockSkew = 5 * time.Minute

// Pin is an authority key a device trusts, with the side it speaks for.
// A device takes the line's two pins when it is enrolled and verifies every
// credential against them, never against what the server says.
type Pin struct {
	Side string
	Key  ed25519.PublicKey
}

// credentialWire is a credential body as signed, fields in the spec's order.
type credentialWire struct {
	V         int    `json:"v"`
	Authority string `json:"authority"`
	subject
	Issued  int64 `json:"issued"`
	Expires int64 `json:"expires"`
}

// Identity is what a valid credential says about a device.
type Identity struct {
	Side      string
	Name      string
	Roles     []role.Role
	SigKey    ed25519.PublicKey
	KEMKey    []byte // X-Wing public key, 1216 bytes
	Authority ed25519.PublicKey
	Issued    time.Time
	Expires   time.Time
	DeviceID  string
}

// HasRole reports whether the identity holds r.
func (id *Identity) HasRole(r role.Role) bool {
	for _, x := range id.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// parse checks every field of a decoded credential body.
func (w *credentialWire) parse() (*Identity, error) {
	if w.V != 1 {
		return nil, fmt.Errorf("%w: version %d, want 1", ErrMalformed, w.V)
	}
	auth, err := decodeB64Len("authority", w.Authority, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	roles, sigKey, kemKey, err := w.subject.parse()
	if err != nil {
		return nil, err
	}
	if err := checkTime("issued", w.Issued); err != nil {
		return nil, err
	}
	if err := checkTime("expires", w.Expires); err != nil {
		return nil, err
	}
	if w.Expires <= w.Issued {
		return nil, fmt.Errorf("%w: expires is not after issued", ErrMalformed)
	}
	if w.Expires-w.Issued > MaxLifetime {
		return nil, fmt.Errorf("%w: valid for more than %d days", ErrMalformed, MaxLifetime/86400)
	}
	return &Identity{
		Side: w.Side, Name: w.Name, Roles: roles,
		SigKey: sigKey, KEMKey: kemKey, Authority: auth,
		Issued: time.Unix(w.Issued, 0).UTC(), Expires: time.Unix(w.Expires, 0).UTC(),
		DeviceID: DeviceID(sigKey),
	}, nil
}

// VerifyCredential decides whether c is valid for a line whose authorities
// are pins, at time now (docs/PROTOCOL.md, "Credential"). The checks run in
// a fixed order, the same in the browser (static/e2ee/trust.js), so both
// give the same reason for the same bytes:
//
//  1. ErrMalformed: the envelope, the body (canonical JSON, v 1) and every
//     field (side and display name, roles known and not repeated, key
//     lengths, 0 ≤ issued < expires ≤ 2^53-1);
//  2. ErrUnknownAuthority: authority is none of the pins;
//  3. ErrSideMismatch: side is not the one pinned with that key;
//  4. ErrBadSignature: Ed25519(authority, "hotline-credential-v1\0" || body);
//  5. ErrNotYetValid: issued > now + ClockSkew;
//  6. ErrExpired: now ≥ expires.
//
// The returned error wraps one of these sentinels.
func VerifyCredential(c Credential, pins []Pin, now time.Time) (*Identity, error) {
	body, sig, err := Signed(c).open()
	if err != nil {
		return nil, err
	}
	var w credentialWire
	if err := decodeBody(body, &w); err != nil {
		return nil, err
	}
	id, err := w.parse()
	if err != nil {
		return nil, err
	}
	var pin *Pin
	for i := range pins {
		if bytes.Equal(pins[i].Key, id.Authority) {
			pin = &pins[i]
			break
		}
	}
	if pin == nil {
		return nil, ErrUnknownAuthority
	}
	if pin.Side != id.Side {
		return nil, fmt.Errorf("%w: credential for side %q, authority pinned for %q", ErrSideMismatch, id.Side, pin.Side)
	}
	if !ed25519.Verify(pin.Key, append([]byte(labelCredential), body...), sig) {
		return nil, fmt.Errorf("credential: %w", ErrBadSignature)
	}
	t := now.Unix()
	if id.Issued.Unix() > t+int64(ClockSkew/time.Second) {
		return nil, fmt.Errorf("%w: issued %s", ErrNotYetValid, id.Issued.Format(time.RFC3339))
	}
	if t >= id.Expires.Unix() {
		return nil, fmt.Errorf("%w: at %s", ErrExpired, id.Expires.Format(time.RFC3339))
	}
	return id, nil
}
