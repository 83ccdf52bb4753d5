// Package enrol turns a device's enrolment request into a credential, in the
// two ways docs/PROTOCOL.md describes: a demo link (the server signs with a
// demo authority whose key it holds — demo only), or a request that waits
// until the side's officer signs it in the browser and posts the credential.
// It holds no private key except the demo authorities'.
package enrol

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hotline/internal/api"
	"hotline/internal/role"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// Errors; internal/httpapi maps them to statuses.
var (
	ErrInvalid    = errors.New("invalid enrolment")              // 400
	ErrNotFound   = errors.New("not found")                      // 404
	ErrGone       = errors.New("enrolment link used or expired") // 410
	ErrNoDemo     = errors.New("this server has no demo authority for that side")
	ErrTooMany    = errors.New("too many pending requests") // 429
	ErrMismatch   = errors.New("the credential does not match the request")
	ErrNotPending = errors.New("the request is not pending")
)

// DefaultValidity is how long a demo credential lasts.
const DefaultValidity = 30 * 24 * time.Hour

// DefaultPendingTTL is how long a request waits for an officer when New
// is given no other time.
const DefaultPendingTTL = 72 * time.Hour

// Service enrols devices.
type Service struct {
	store *store.Store
	demo  map[string]*trust.Authority // by side name
	ttl   time.Duration               // a request's life while no officer approves it
	now   func() time.Time
}

// New makes a service. demo holds the demo authorities (may be empty: then
// only officer-approved enrolment works). A request that no officer
// approved within pendingTTL expires (0: DefaultPendingTTL).
func New(st *store.Store, demo []*trust.Authority, pendingTTL time.Duration) *Service {
	m := make(map[string]*trust.Authority, len(demo))
	for _, a := range demo {
		m[a.Side] = a
	}
	if pendingTTL <= 0 {
		pendingTTL = DefaultPendingTTL
	}
	return &Service{store: st, demo: m, ttl: pendingTTL, now: time.Now}
}

// expire deletes the requests past their time, so that they leave the
// officer's list and the bound on pending requests.
func (s *Service) expire(ctx context.Context) error {
	_, err := s.store.DeleteExpiredRequests(ctx, s.now().Add(-s.ttl))
	return err
}

// expired: a request no officer approved within the time.
func (s *Service) expired(r store.EnrolmentRequest) bool {
	return r.Approved.IsZero() && !s.now().Before(r.Created.Add(s.ttl))
}

func (s *Service) line(ctx context.Context, name string) (store.Line, []trust.Pin, error) {
	l, err := s.store.Line(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return l, nil, fmt.Errorf("%w: line %q", ErrNotFound, name)
	}
	if err != nil {
		return l, nil, err
	}
	return l, Pins(l), nil
}

// Pins are a line's two authority pins, as the server holds them.
func Pins(l store.Line) []trust.Pin {
	return []trust.Pin{
		{Side: l.A.Name, Key: ed25519.PublicKey(l.A.AuthorityKey)},
		{Side: l.B.Name, Key: ed25519.PublicKey(l.B.AuthorityKey)},
	}
}

// Demo redeems a demo token: the request's side, name and roles must be
// those the token grants; the demo authority of that side signs it. The
// token works once.
func (s *Service) Demo(ctx context.Context, token string, req trust.Request) (api.Enrolled, error) {
	body, err := trust.VerifyRequest(req)
	if err != nil {
		return api.Enrolled{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var res api.Enrolled
	err = s.store.UseEnrolToken(ctx, token, func(g store.EnrolToken) error {
		if body.Side != g.Side || body.Name != g.Name || !sameRoles(body.Roles, g.Roles) {
			return fmt.Errorf("%w: this link enrols %s (%v) of side %s", ErrInvalid, g.Name, g.Roles, g.Side)
		}
		a := s.demo[g.Side]
		if a == nil {
			return fmt.Errorf("%w %q", ErrNoDemo, g.Side)
		}
		// No store access in here: the token's transaction holds the
		// store's one writer connection.
		now := s.now()
		cred, err := a.Sign(req, now, now.Add(DefaultValidity))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		res = api.Enrolled{Credential: cred, Line: g.Line, Call: g.Call}
		return nil
	})
	if err == nil {
		var pins []trust.Pin
		if _, pins, err = s.line(ctx, res.Line); err == nil {
			res.Pins = api.NewPins(pins)
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.Enrolled{}, fmt.Errorf("%w: unknown enrolment link", ErrNotFound)
	case errors.Is(err, store.ErrUsed), errors.Is(err, store.ErrExpired):
		return api.Enrolled{}, fmt.Errorf("%w: %v", ErrGone, err)
	}
	return res, err
}

func sameRoles(got []role.Role, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if string(got[i]) != want[i] {
			return false
		}
	}
	return true
}

// Submit records a request for the officer of the request's side.
func (s *Service) Submit(ctx context.Context, lineName string, req trust.Request) (api.Submitted, error) {
	body, err := trust.VerifyRequest(req)
	if err != nil {
		return api.Submitted{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	l, pins, err := s.line(ctx, lineName)
	if err != nil {
		return api.Submitted{}, err
	}
	if body.Side != l.A.Name && body.Side != l.B.Name {
		return api.Submitted{}, fmt.Errorf("%w: line %q has no side %q", ErrInvalid, lineName, body.Side)
	}
	if err := s.expire(ctx); err != nil {
		return api.Submitted{}, err
	}
	raw, _ := json.Marshal(req)
	id := newID()
	err = s.store.AddEnrolmentRequest(ctx, store.EnrolmentRequest{ID: id, Line: lineName, Side: body.Side, Request: string(raw)})
	if errors.Is(err, store.ErrTooMany) {
		return api.Submitted{}, fmt.Errorf("%w: %v", ErrTooMany, err)
	}
	if err != nil {
		return api.Submitted{}, err
	}
	return api.Submitted{ID: id, Pins: api.NewPins(pins)}, nil
}

// PendingFor lists the pending requests of one side of a line. Only that
// side's officer may see them (internal/httpapi checks the sign-in).
func (s *Service) PendingFor(ctx context.Context, lineName, side string) ([]api.Pending, error) {
	if _, _, err := s.line(ctx, lineName); err != nil {
		return nil, err
	}
	if err := s.expire(ctx); err != nil {
		return nil, err
	}
	rs, err := s.store.PendingRequests(ctx, lineName, side)
	if err != nil {
		return nil, err
	}
	out := make([]api.Pending, 0, len(rs))
	for _, r := range rs {
		var req trust.Request
		if err := json.Unmarshal([]byte(r.Request), &req); err != nil {
			return nil, fmt.Errorf("enrol: stored request %s: %w", r.ID, err)
		}
		out = append(out, api.Pending{ID: r.ID, Request: req, Created: r.Created.Unix(), Expires: r.Created.Add(s.ttl).Unix()})
	}
	return out, nil
}

// Approve stores an officer's credential for a pending request. The
// credential must be valid for the request's line now and name exactly the
// requesting device's keys, side and name.
func (s *Service) Approve(ctx context.Context, id string, cred trust.Credential) error {
	r, err := s.pendingRequest(ctx, id, func(store.EnrolmentRequest) bool { return true })
	if err != nil {
		return err
	}
	var req trust.Request
	if err := json.Unmarshal([]byte(r.Request), &req); err != nil {
		return fmt.Errorf("enrol: stored request %s: %w", id, err)
	}
	body, err := trust.VerifyRequest(req)
	if err != nil {
		return fmt.Errorf("enrol: stored request %s: %w", id, err)
	}
	_, pins, err := s.line(ctx, r.Line)
	if err != nil {
		return err
	}
	who, err := trust.VerifyCredential(cred, pins, s.now())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !who.SigKey.Equal(body.SigKey) || string(who.KEMKey) != string(body.KEMKey) || who.Side != body.Side || who.Name != body.Name {
		return ErrMismatch
	}
	raw, _ := json.Marshal(cred)
	return s.store.ApproveRequest(ctx, id, string(raw))
}

// StatusOf reports a request's state.
func (s *Service) StatusOf(ctx context.Context, id string) (api.RequestStatus, error) {
	r, err := s.store.EnrolmentRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.RequestStatus{}, fmt.Errorf("%w: request %q", ErrNotFound, id)
	}
	if err != nil {
		return api.RequestStatus{}, err
	}
	switch {
	case !r.Rejected.IsZero():
		return api.RequestStatus{State: api.StateRejected, Line: r.Line}, nil
	case s.expired(r):
		return api.RequestStatus{}, fmt.Errorf("%w: request %q expired", ErrGone, id)
	case r.Approved.IsZero():
		return api.RequestStatus{State: api.StatePending, Line: r.Line, Expires: r.Created.Add(s.ttl).Unix()}, nil
	}
	var cred trust.Credential
	if err := json.Unmarshal([]byte(r.Credential), &cred); err != nil {
		return api.RequestStatus{}, fmt.Errorf("enrol: stored credential %s: %w", id, err)
	}
	_, pins, err := s.line(ctx, r.Line)
	if err != nil {
		return api.RequestStatus{}, err
	}
	return api.RequestStatus{State: api.StateApproved, Credential: &cred, Pins: api.NewPins(pins), Line: r.Line}, nil
}

// pendingRequest loads request id, which must be one the caller may see
// (visible: ErrNotFound otherwise, as if it did not exist), pending
// (ErrNotPending) and not expired (ErrGone).
func (s *Service) pendingRequest(ctx context.Context, id string, visible func(store.EnrolmentRequest) bool) (store.EnrolmentRequest, error) {
	r, err := s.store.EnrolmentRequest(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !visible(r)):
		return r, fmt.Errorf("%w: request %q", ErrNotFound, id)
	case err != nil:
		return r, err
	case !r.Pending():
		return r, ErrNotPending
	case s.expired(r):
		return r, fmt.Errorf("%w: request %q expired", ErrGone, id)
	}
	return r, nil
}

// Reject marks a pending request of side on line rejected: its device will
// learn so, and the officer's list no longer shows it. A request of
// another line or side is ErrNotFound, as if it did not exist.
func (s *Service) Reject(ctx context.Context, id, lineName, side string) error {
	_, err := s.pendingRequest(ctx, id, func(r store.EnrolmentRequest) bool { return r.Line == lineName && r.Side == side })
	if err != nil {
		return err
	}
	err = s.store.RejectRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotPending // approved or rejected meanwhile
	}
	return err
}

// VerifyOfficer checks an officer's sign-in: proof is the nonce, line and
// side signed with the authority key the server pins for that side of the
// line (trust.VerifyOfficerProof).
func (s *Service) VerifyOfficer(ctx context.Context, lineName, side string, nonce, proof []byte) error {
	l, _, err := s.line(ctx, lineName)
	if err != nil {
		return err
	}
	var key []byte
	switch side {
	case l.A.Name:
		key = l.A.AuthorityKey
	case l.B.Name:
		key = l.B.AuthorityKey
	default:
		return fmt.Errorf("%w: line %q has no side %q", ErrNotFound, lineName, side)
	}
	return trust.VerifyOfficerProof(ed25519.PublicKey(key), nonce, lineName, side, proof)
}

// Line describes a line.
func (s *Service) Line(ctx context.Context, name string) (api.LineInfo, error) {
	_, pins, err := s.line(ctx, name)
	if err != nil {
		return api.LineInfo{}, err
	}
	return api.LineInfo{Name: name, Sides: api.NewPins(pins)}, nil
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
