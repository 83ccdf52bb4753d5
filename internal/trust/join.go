package trust

import (
	"crypto/ed25519"
	"fmt"
	"strings"
)

// joinMessage is "hotline-join-v3\0" || nonce || str16(server) ||
// str16(line) || str16(call) (docs/PROTOCOL.md, "Join"). The nonce is the
// server's fresh challenge for this connection and server the name the
// client dialled (ServerName), so a proof is good for one connection,
// server, line and call: a server that relays another's challenge gets a
// proof for its own name, which the other refuses.
func joinMessage(nonce []byte, server, line, call string) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("%w: nonce is %d bytes, want %d", ErrMalformed, len(nonce), NonceSize)
	}
	if server == "" {
		return nil, fmt.Errorf("%w: no server name", ErrMalformed)
	}
	m := append([]byte(labelJoin), nonce...)
	m, err := AppendStr16(m, server)
	if err != nil {
		return nil, fmt.Errorf("%w: server: %v", ErrMalformed, err)
	}
	m, err = AppendStr16(m, line)
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
func JoinProof(priv ed25519.PrivateKey, nonce []byte, server, line, call string) []byte {
	m, err := joinMessage(nonce, server, line, call)
	if err != nil {
		return nil
	}
	return ed25519.Sign(priv, m)
}

// VerifyJoinProof checks a join proof against the sig_key of the joiner's
// credential (ErrMalformed for a wrong size, ErrBadSignature otherwise).
func VerifyJoinProof(pub ed25519.PublicKey, nonce []byte, server, line, call string, proof []byte) error {
	if len(pub) != ed25519.PublicKeySize || len(proof) != SignatureSize {
		return fmt.Errorf("%w: key or proof size", ErrMalformed)
	}
	m, err := joinMessage(nonce, server, line, call)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, m, proof) {
		return fmt.Errorf("join proof: %w", ErrBadSignature)
	}
	return nil
}

// ServerName is the canonical form of the server name a join proof signs:
// the host[:port] the client dialled (a URL's host, a request's Host), in
// lower case, without the scheme's default port (443 with TLS, 80
// without), as a browser's URL.host writes it.
func ServerName(hostport string, tls bool) string {
	h := strings.ToLower(hostport)
	def := ":80"
	if tls {
		def = ":443"
	}
	return strings.TrimSuffix(h, def)
}
