// Package revocation keeps each line's revocation lists on the server
// (docs/PROTOCOL.md, "Revocation"): it verifies a list an authority
// signed (hotline authority revoke) against the line's pins, stores it if
// its serial is newer, and applies it at once — the listed devices are
// refused from then on (joins, API sign-ins and sessions) and taken out of
// live calls by the apply hook (call.Registry.Revoke), whose rosters carry
// the lists to every client.
package revocation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"hotline/internal/enrol"
	"hotline/internal/protocol"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// Apply puts a line's current lists into effect: lists are the sides'
// signed lists, devices every device they name.
type Apply func(line string, lists []protocol.Credential, devices []string)

// Service holds the lists of every line. Safe for concurrent use.
type Service struct {
	store *store.Store
	apply Apply

	mu    sync.Mutex // held across verify, store and apply: lists go in one at a time, in order
	lines map[string]*line
}

type line struct {
	held  trust.Revocations
	lists map[string]trust.Revocation // the signed envelopes, by side
}

// ErrUnknownLine: a list for a line the server does not have.
var ErrUnknownLine = errors.New("unknown line")

// New makes the service and loads the stored lists, applying each line's.
func New(ctx context.Context, st *store.Store, apply Apply) (*Service, error) {
	s := &Service{store: st, apply: apply, lines: map[string]*line{}}
	rows, err := st.Revocations(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		pins, err := s.pins(ctx, r.Line)
		if err != nil {
			return nil, err
		}
		rev := trust.Revocation{Body: r.Body, Sig: r.Sig}
		list, err := trust.VerifyRevocation(rev, pins, r.Line)
		if err != nil {
			return nil, fmt.Errorf("revocation: stored list of %s/%s: %w", r.Line, r.Side, err)
		}
		s.lineOf(r.Line).put(list, rev)
	}
	for name := range s.lines {
		s.applyLocked(name)
	}
	return s, nil
}

func (s *Service) pins(ctx context.Context, lineName string) ([]trust.Pin, error) {
	st, err := s.store.Line(ctx, lineName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w %q", ErrUnknownLine, lineName)
	}
	if err != nil {
		return nil, err
	}
	return enrol.Pins(st), nil
}

func (s *Service) lineOf(name string) *line {
	l := s.lines[name]
	if l == nil {
		l = &line{lists: map[string]trust.Revocation{}}
		s.lines[name] = l
	}
	return l
}

func (l *line) put(list *trust.RevocationList, r trust.Revocation) {
	l.held.Put(list)
	l.lists[list.Side] = r
}

// Submit verifies a list for lineName, stores it and applies it. A list
// whose serial is not above its side's current one is refused
// (trust.ErrOldSerial), except an exact repeat of the current one, which
// changes nothing. Errors wrap trust's sentinels, ErrUnknownLine, or the
// store's; on any error nothing changed.
func (s *Service) Submit(ctx context.Context, lineName string, r trust.Revocation) (*trust.RevocationList, error) {
	pins, err := s.pins(ctx, lineName)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list, err := trust.VerifyRevocation(r, pins, lineName)
	if err != nil {
		return nil, err
	}
	l := s.lineOf(lineName)
	newer, err := l.held.Newer(list)
	if err != nil || !newer {
		return list, err
	}
	if err := s.store.PutRevocation(ctx, store.Revocation{Line: lineName, Side: list.Side, Serial: list.Serial, Body: r.Body, Sig: r.Sig}); err != nil {
		if errors.Is(err, store.ErrStaleSerial) {
			return nil, fmt.Errorf("%w: %v", trust.ErrOldSerial, err)
		}
		return nil, err
	}
	l.put(list, r)
	s.applyLocked(lineName)
	return list, nil
}

func (s *Service) applyLocked(lineName string) {
	l := s.lines[lineName]
	sides := make([]string, 0, len(l.lists))
	for side := range l.lists {
		sides = append(sides, side)
	}
	slices.Sort(sides)
	lists := make([]protocol.Credential, 0, len(sides))
	for _, side := range sides {
		lists = append(lists, protocol.Credential{Body: l.lists[side].Body, Sig: l.lists[side].Sig})
	}
	if s.apply != nil {
		s.apply(lineName, lists, l.held.Devices())
	}
}

// Revoked reports whether device is on a current list of lineName.
func (s *Service) Revoked(lineName, device string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lines[lineName]
	return l != nil && l.held.Revoked(device)
}
