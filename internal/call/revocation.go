package call

import (
	"errors"
	"slices"
	"strings"

	"hotline/internal/protocol"
)

// Revocation (docs/PROTOCOL.md, "Revocation"): the registry holds, per
// line, the sides' current signed revocation lists and the devices they
// name. Every roster of a call of the line carries the lists, so that each
// client checks them against its own pins; a listed device cannot join
// (even to replace its own stale session) and is taken out of every live
// call of the line at once, so that the others rekey without it.

// ErrRevoked: the joining device is on its side's revocation list.
var ErrRevoked = errors.New("the device's credential was revoked by its side's authority")

// WhyRevoked is the Why of a member taken out because its device was revoked.
const WhyRevoked = "revoked"

// RevokedBy is how a revoked member is told who removed it.
const RevokedBy = "its side's authority (the device was revoked)"

type lineRevocations struct {
	lists   []protocol.Credential // the sides' current signed lists
	devices map[string]bool       // the device ids they name
}

// lineOf is the line of a live call's name, "<line>/<call>".
func lineOf(name string) string {
	line, _, _ := strings.Cut(name, "/")
	return line
}

// Revoke makes lists the line's current revocation lists (the server has
// verified them; clients verify them again) and devices the devices they
// name. Members of the line's live calls on such a device are taken out
// (told with Removed, as a removal); every call of the line gets a new
// roster that carries the lists. It returns how many members it took out.
func (r *Registry) Revoke(line string, lists []protocol.Credential, devices []string) int {
	set := make(map[string]bool, len(devices))
	for _, d := range devices {
		set[d] = true
	}
	r.revMu.Lock()
	if r.revoked == nil {
		r.revoked = map[string]*lineRevocations{}
	}
	r.revoked[line] = &lineRevocations{lists: slices.Clone(lists), devices: set}
	r.revMu.Unlock()

	removed := 0
	r.mu.Lock()
	for name, c := range r.calls {
		if lineOf(name) != line {
			continue
		}
		c.mu.Lock()
		var out []*entry
		for _, e := range c.members {
			if set[e.id.Device] {
				out = append(out, e)
			}
		}
		for _, e := range out {
			c.leaveLocked(e, WhyRevoked)
			e.sink.Removed(RevokedBy)
			removed++
		}
		if len(out) == 0 {
			c.broadcastRoster() // the new lists, to everyone
		}
		c.mu.Unlock()
	}
	r.mu.Unlock()
	r.ev.flush()
	return removed
}

// revokedDevice reports whether device is on a list of line.
func (r *Registry) revokedDevice(line, device string) bool {
	r.revMu.Lock()
	defer r.revMu.Unlock()
	l := r.revoked[line]
	return l != nil && l.devices[device]
}

// revocationLists are the line's current lists, for its rosters.
func (r *Registry) revocationLists(line string) []protocol.Credential {
	r.revMu.Lock()
	defer r.revMu.Unlock()
	if l := r.revoked[line]; l != nil && len(l.lists) > 0 {
		return slices.Clone(l.lists)
	}
	return nil
}
