package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"hotline/internal/booking"
	"hotline/internal/call"
	"hotline/internal/enrol"
	"hotline/internal/peer"
	"hotline/internal/probe"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// gate admits joins (peer.Gatekeeper): the credential must be valid for the
// line, by the pins the server holds for it, and the proof must be the
// credential's device signing this session's challenge (docs/PROTOCOL.md,
// "Join"). A call name that is a booked call's id must name an accepted or
// live call of the line; the booking gives its kind and whom it names. Any
// other name is an ad hoc video call (docs/PROTOCOL.md, "Lobby and roles").
// The gate only checks and returns an admission: it writes nothing, whether
// it admits or refuses. The booked call starts when its first member is in
// the live call (lifecycle.go), so a join that the call itself refuses
// after the gate (full, the same device twice, a camera in a phone call)
// leaves the booking as it was.
type gate struct {
	store   *store.Store
	booking *booking.Service
	revoked func(line, device string) bool // nil: none
	now     func() time.Time
	minute  time.Duration // what a booked minute of a public opening lasts (Config.OpeningMinute)
}

// openingMinute is cfg.OpeningMinute, a minute by default.
func openingMinute(cfg Config) time.Duration {
	if cfg.OpeningMinute > 0 {
		return cfg.OpeningMinute
	}
	return time.Minute
}

// Errors of the gate; each becomes an "unauthorized" error for the client.
var (
	errUnknownLine = errors.New("unknown line")
	errBadProof    = errors.New("the proof of possession does not verify")
	errRevoked     = errors.New("the device was revoked by its side's authority")
	errNotOurName  = errors.New("the connection came by a name or address that is not this server's")
)

func (g *gate) Admit(ctx context.Context, nonce []byte, server string, j *protocol.Join) (peer.Admitted, error) {
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
	if server == "" {
		return peer.Admitted{}, errNotOurName
	}
	if err := trust.VerifyJoinProof(id.SigKey, nonce, server, j.Line, j.Call, proof); err != nil {
		return peer.Admitted{}, fmt.Errorf("%w: %v", errBadProof, err)
	}
	// docs/PROTOCOL.md, "Revocation": a revoked device joins nothing, not
	// even to replace or resume its own session (the call refuses it too,
	// should a list arrive between here and the join).
	if g.revoked != nil && g.revoked(j.Line, id.DeviceID) {
		return peer.Admitted{}, fmt.Errorf("credential: %w", errRevoked)
	}
	if err := checkTestCall(j.Call, id.Roles, len(j.Tracks)); err != nil {
		return peer.Admitted{}, err
	}
	adm, err := g.admission(ctx, j.Line, j.Call, id)
	if err != nil {
		return peer.Admitted{}, err
	}
	return peer.Admitted{Device: id.DeviceID, Name: id.Name, Side: id.Side, Roles: id.Roles, Call: adm}, nil
}

// admission looks the call up in the booking: its kind, and whether it names
// this person (same side, same name, an adviser or interpreter role on
// both) in advance.
func (g *gate) admission(ctx context.Context, line, callName string, id *trust.Identity) (call.Admission, error) {
	if probe.IsTestCall(callName) {
		return call.Admission{Kind: call.KindVideo, Test: true}, nil
	}
	bc, err := g.booking.Joinable(ctx, line, callName)
	if errors.Is(err, booking.ErrNotFound) {
		return call.Admission{Kind: call.KindVideo}, nil // ad hoc
	}
	if err != nil {
		return call.Admission{}, fmt.Errorf("call %s: %w", callName, err)
	}
	adm := call.Admission{Kind: string(bc.Kind), Booking: bc.ID, Languages: bc.Languages,
		Opening: bc.PublicOpening / time.Minute * g.minute}
	for _, p := range bc.Named(id.Side) {
		for _, r := range []role.Role{role.Adviser, role.Interpreter} {
			if p.Name == id.Name && slices.Contains(p.Roles, r) && slices.Contains(id.Roles, r) {
				adm.Named = true
				if r == role.Interpreter {
					adm.Interprets = p.Interprets
				}
			}
		}
	}
	return adm, nil
}

// errTestCall: a probe outside a test call, or anyone else in one.
var errTestCall = errors.New("test calls are for probes only (and receive-only monitors and interpreters)")

// checkTestCall is the rule of the probe role (docs/PROTOCOL.md, "Readiness
// probes"): a device holding it joins test calls only, and a test call
// admits probe devices only, so a probe's credential opens no real call and
// a test call carries no real person's media. An interpreter's booth or the
// wall monitor may join a test call receive-only (no tracks), to be probed
// too: it sees the probes' media and sends none.
func checkTestCall(callName string, roles []role.Role, tracks int) error {
	isProbe := slices.Contains(roles, role.Probe)
	watcher := slices.Contains(roles, role.Monitor) || slices.Contains(roles, role.Interpreter)
	switch test := probe.IsTestCall(callName); {
	case isProbe && !test:
		return fmt.Errorf("%w: a probe device joins test calls (%s…) only", errTestCall, probe.CallPrefix)
	case test && !isProbe && !(watcher && tracks == 0):
		return fmt.Errorf("%w: %q is a test call (a monitor or an interpreter may join it receive-only)", errTestCall, callName)
	}
	return nil
}
