package trust

import (
	"crypto/ed25519"
	"fmt"
)

// labelSession separates an API session proof from every other signature
// a device makes (docs/API.md, "Authentication"): a join proof, signed under
// "hotline-join-v3\0", can never open an API session, nor the reverse.
const labelSession = "hotline-api-session-v1\x00"

// sessionMessage is "hotline-api-session-v1\0" || nonce || str16(line). The
// nonce is the server's single-use challenge from POST /api/session/challenge,
// so a proof opens one session on one line, once.
func sessionMessage(nonce []byte, line string) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("%w: nonce is %d bytes, want %d", ErrMalformed, len(nonce), NonceSize)
	}
	m, err := AppendStr16(append([]byte(labelSession), nonce...), line)
	if err != nil {
		return nil, fmt.Errorf("%w: line: %v", ErrMalformed, err)
	}
	return m, nil
}

// SessionProof signs an API session challenge with the device's key. Like
// JoinProof it returns nil, which no verifier accepts, for a nonce that is
// not 32 bytes or a line name that does not fit a str16.
func SessionProof(priv ed25519.PrivateKey, nonce []byte, line string) []byte {
	m, err := sessionMessage(nonce, line)
	if err != nil {
		return nil
	}
	return ed25519.Sign(priv, m)
}

// VerifySessionProof checks a session proof against the sig_key of the
// caller's credential (ErrMalformed for a wrong size, ErrBadSignature
// otherwise).
func VerifySessionProof(pub ed25519.PublicKey, nonce []byte, line string, proof []byte) error {
	m, err := sessionMessage(nonce, line)
	switch {
	case err != nil:
		return err
	case len(pub) != ed25519.PublicKeySize || len(proof) != SignatureSize:
		return fmt.Errorf("%w: key or proof size", ErrMalformed)
	case !ed25519.Verify(pub, m, proof):
		return fmt.Errorf("session proof: %w", ErrBadSignature)
	}
	return nil
}

// SessionProof proves the device holds its key to open an API session.
func (d *Device) SessionProof(nonce []byte, line string) []byte {
	return SessionProof(d.sig, nonce, line)
}
