package trust

import (
	"crypto/ed25519"
	"fmt"
)

// joinMessage is "hotline-join-v2\0" || nonce || str16(line) || str16(call)
// (docs/PROTOCOL.md, "Join"). The nonce is the server's fresh challenge for
// this connection, so a proof is good for one connection, line and call.
func joinMessage(nonce []byte, line, call string) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("%w: nonce is %d bytes, want %d", ErrMalformed, len(nonce), NonceSize)
	}
	m := append([]byte(labelJoin), nonce...)
	m, err := AppendStr16(m, line)
	if err != nil {
		return nil, fmt.Errorf("%w: line: %v", ErrMalformed, err)
	}
	m, err = AppendStr16(m, call)
	if err != nil {
		return nil, fmt.Errorf("%w: call: %v", ErrMalformed, err)
	}
	return m, nil
}

// JoinProof signs a join challenge with the device's key. It returns nil,
// which no verifier accepts, when the nonce is not 32 bytes or a name does
// not fit a str16: the server sent a bad challenge or the caller's names
// are not valid, and either way there is nothing to prove.
func JoinProof(priv ed25519.PrivateKey, nonce []byte, line, call string) []byte {
	m, err := joinMessage(nonce, line, call)
	if err != nil {
		return nil
	}
	return ed25519.Sign(priv, m)
}

// VerifyJoinProof checks a join proof against the sig_key of the joiner's
// credential (ErrMalformed for a wrong size, ErrBadSignature otherwise).
func VerifyJoinProof(pub ed25519.PublicKey, nonce []byte, line, call string, proof []byte) error {
	if len(pub) != ed25519.PublicKeySize || len(proof) != SignatureSize {
		return fmt.Errorf("%w: key or proof size", ErrMalformed)
	}
	m, err := joinMessage(nonce, line, call)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, m, proof) {
		return fmt.Errorf("join proof: %w", ErrBadSignature)
	}
	return nil
}
