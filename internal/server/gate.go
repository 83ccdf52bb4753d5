package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"hotline/internal/enrol"
	"hotline/internal/peer"
	"hotline/internal/protocol"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// gate admits joins (peer.Gatekeeper): the credential must be valid for the
// line, by the pins the server holds for it, and the proof must be the
// credential's device signing this session's challenge (docs/PROTOCOL.md,
// "Join"). It stores nothing.
type gate struct {
	store *store.Store
	now   func() time.Time
}

// Errors of the gate; each becomes an "unauthorized" error for the client.
var (
	errUnknownLine = errors.New("unknown line")
	errBadProof    = errors.New("the proof of possession does not verify")
)

func (g *gate) Admit(ctx context.Context, nonce []byte, j *protocol.Join) (peer.Admitted, error) {
	l, err := g.store.Line(ctx, j.Line)
	if errors.Is(err, store.ErrNotFound) {
		return peer.Admitted{}, fmt.Errorf("%w %q", errUnknownLine, j.Line)
	}
	if err != nil {
		return peer.Admitted{}, err
	}
	id, err := trust.VerifyCredential(trust.Credential{Body: j.Credential.Body, Sig: j.Credential.Sig}, enrol.Pins(l), g.now())
	if err != nil {
		return peer.Admitted{}, fmt.Errorf("credential: %w", err)
	}
	proof, err := base64.RawURLEncoding.DecodeString(j.Proof)
	if err != nil {
		return peer.Admitted{}, fmt.Errorf("%w: %v", errBadProof, err)
	}
	if err := trust.VerifyJoinProof(id.SigKey, nonce, j.Line, j.Call, proof); err != nil {
		return peer.Admitted{}, fmt.Errorf("%w: %v", errBadProof, err)
	}
	return peer.Admitted{Device: id.DeviceID, Name: id.Name, Side: id.Side, Roles: id.Roles}, nil
}
