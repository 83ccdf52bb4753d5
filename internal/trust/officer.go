package trust

import (
	"crypto/ed25519"
	"fmt"
)

// labelOfficer separates an officer's sign-in from every other signature
// an authority makes (docs/API.md, "Officer sessions"): a credential is
// signed under "hotline-credential-v1\0", so no sign-in proof can ever be
// read as a credential, nor the reverse; and a device's session proof
// ("hotline-api-session-v2\0") is made with a device key, not this one.
const labelOfficer = "hotline-officer-session-v1\x00"

// officerMessage is "hotline-officer-session-v1\0" || nonce || str16(line)
// || str16(side): one server challenge, for one side of one line.
func officerMessage(nonce []byte, line, side string) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("%w: nonce is %d bytes, want %d", ErrMalformed, len(nonce), NonceSize)
	}
	m, err := AppendStr16(append([]byte(labelOfficer), nonce...), line)
	if err != nil {
		return nil, fmt.Errorf("%w: line: %v", ErrMalformed, err)
	}
	if m, err = AppendStr16(m, side); err != nil {
		return nil, fmt.Errorf("%w: side: %v", ErrMalformed, err)
	}
	return m, nil
}

// OfficerProof signs an officer sign-in challenge with the authority's
// key; nil (which no verifier accepts) for a malformed nonce or names.
func (a *Authority) OfficerProof(nonce []byte, line string) []byte {
	m, err := officerMessage(nonce, line, a.Side)
	if err != nil {
		return nil
	}
	return ed25519.Sign(a.private, m)
}

// VerifyOfficerProof checks an officer's sign-in against the authority key
// the server pins for side on line.
func VerifyOfficerProof(authority ed25519.PublicKey, nonce []byte, line, side string, proof []byte) error {
	m, err := officerMessage(nonce, line, side)
	switch {
	case err != nil:
		return err
	case len(authority) != ed25519.PublicKeySize || len(proof) != SignatureSize:
		return fmt.Errorf("%w: key or proof size", ErrMalformed)
	case !ed25519.Verify(authority, m, proof):
		return fmt.Errorf("officer proof: %w", ErrBadSignature)
	}
	return nil
}
