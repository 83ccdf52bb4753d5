package api

import (
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// Challenge answers POST /api/session/challenge: a single-use nonce (b64u
// of trust.NonceSize bytes) for the session proof, and when it expires
// (Unix seconds).
type Challenge struct {
	Nonce   string `json:"nonce"`
	Expires int64  `json:"expires"`
}

// SignInBody is the body of POST /api/session: a device's credential and
// its proof over the challenge's nonce and the line
// (trust.SessionProof, "hotline-api-session-v2\0").
type SignInBody struct {
	Line       string           `json:"line"`
	Credential trust.Credential `json:"credential"`
	Nonce      string           `json:"nonce"`
	Proof      string           `json:"proof"`
}

// SignIn is a parsed SignInBody: the nonce and the proof decoded, of the
// right sizes. The credential and the proof are verified by the server.
type SignIn struct {
	Line       string
	Credential trust.Credential
	Nonce      []byte
	Proof      []byte
}

// ParseSignIn decodes a POST /api/session body: strict JSON, a valid line
// name, the nonce b64u of 32 bytes and the proof b64u of 64 (docs/API.md,
// checks 1 and 2).
func ParseSignIn(data []byte) (SignIn, error) {
	var b SignInBody
	if err := Decode(data, &b); err != nil {
		return SignIn{}, err
	}
	if err := protocol.ValidID("line", b.Line); err != nil {
		return SignIn{}, invalid("%v", err)
	}
	nonce, errN := trust.DecodeB64(b.Nonce)
	proof, errP := trust.DecodeB64(b.Proof)
	if errN != nil || errP != nil || len(nonce) != trust.NonceSize || len(proof) != trust.SignatureSize {
		return SignIn{}, invalid("nonce must be 32 and proof 64 bytes, in base64url without padding")
	}
	return SignIn{Line: b.Line, Credential: b.Credential, Nonce: nonce, Proof: proof}, nil
}

// Session answers POST /api/session (with Token) and GET /api/session
// (without): the API session's identity, the credential's, and when it
// ends (Unix seconds).
type Session struct {
	Token   string   `json:"token,omitempty"`
	Expires int64    `json:"expires"`
	Line    string   `json:"line"`
	Side    string   `json:"side"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	Device  string   `json:"device"`
}
