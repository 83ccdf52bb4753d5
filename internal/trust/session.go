package trust

import (
	"crypto/ed25519"
	"fmt"
)

// labelSession separates an API session proof from every other signature
// a device makes (docs/API.md, "Authentication"): a join proof, signed under
// "hotline-join-v3\0", can never open an API session, nor the reverse.
// Version 2 signs the server's name (v1 did not): a proof made for one
// server opens no session on another that relays its challenge.
const labelSession = "hotline-api-session-v2\x00"

// sessionMessage is "hotline-api-session-v2\0" || nonce || str16(server) ||
// str16(line). The nonce is the server's single-use challenge from POST
// /api/session/challenge, so a proof opens one session on one line, once;
// server is the name the client reached the API by (ServerName, as for a
// join proof), so only on that server.
func sessionMessage(nonce []byte, server, line string) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("%w: nonce is %d bytes, want %d", ErrMalformed, len(nonce), NonceSize)
	}
	if server == "" {
		return nil, fmt.Errorf("%w: no server name", ErrMalformed)
	}
	m, err := AppendStr16(append([]byte(labelSession), nonce...), server)
	if err != nil {
		return nil, fmt.Errorf("%w: server: %v", ErrMalformed, err)
	}
	m, err = AppendStr16(m, line)
	if err != nil {
		return nil, fmt.Errorf("%w: line: %v", ErrMalformed, err)
	}
	return m, nil
}

// SessionProof signs an API session challenge with the device's key. Like
// JoinProof it returns nil, which no verifier accepts, for a nonce that is
// not 32 bytes, no server name, or a name that does not fit a str16.
func SessionProof(priv ed25519.PrivateKey, nonce []byte, server, line string) []byte {
	m, err := sessionMessage(nonce, server, line)
	if err != nil {
		return nil
	}
	return ed25519.Sign(priv, m)
}

// VerifySessionProof checks a session proof against the sig_key of the
// caller's credential (ErrMalformed for a wrong size, ErrBadSignature
// otherwise).
func VerifySessionProof(pub ed25519.PublicKey, nonce []byte, server, line string, proof []byte) error {
	m, err := sessionMessage(nonce, server, line)
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

// SessionProof proves the device holds its key to open an API session on
// the server named server (ServerName form).
func (d *Device) SessionProof(nonce []byte, server, line string) []byte {
	return SessionProof(d.sig, nonce, server, line)
}
