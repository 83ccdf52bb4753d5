// Package route is the rule that decides who receives whose media in a live
// call (docs/PROTOCOL.md, "Routing"). The server uses it to decide what it
// forwards (internal/call), and every client uses it to decide to whom it
// sends its keys (internal/e2ee, and static/e2ee/route.js in the browser):
// keys follow the media. So it is computed from what the roster carries and
// nothing else — the call's segment, each member's state, roles (from its
// credential) and listening choice — and testdata/routing.json holds cases
// that both copies check.
//
// The rule: both ends are in the call and the receiver's roles allow
// receive_media, or the call is in its public segment and the receiver's
// roles allow receive_public_segment (the press: the floor only). It takes
// the listening choice already, so that interpretation (a listener's
// language) extends it here and only here.
package route

import (
	"slices"

	"hotline/internal/protocol"
	"hotline/internal/role"
)

// The segment (protocol.SegmentPrivate, protocol.SegmentPublic) and the
// listening choice (protocol.ListenFloor, later a language) are the
// protocol's values: they travel in the roster.

// Member is what the rule needs to know of a member, all of it in the
// roster: its state ("in", "waiting", "bench"), its roles (a client takes
// them from the verified credential, never from the server) and what it
// listens to.
type Member struct {
	State     string
	Roles     []role.Role
	Listening string
}

// Publication is one published track as the rule sees it: who publishes
// it and its source label ("interpretation" for an interpreter's channel).
type Publication struct {
	Publisher Member
	Source    string
}

// Routes reports whether pub is forwarded to m in a call in segment. The
// caller has already excluded the publisher itself.
func Routes(segment string, m Member, pub Publication) bool {
	// Only members in the call take part in the media, at both ends: the
	// lobby and the bench neither send nor receive.
	if m.State != protocol.StateIn || pub.Publisher.State != protocol.StateIn {
		return false
	}
	// The private segment reaches the roles that receive media: never an
	// operator, the press or a role that does not receive. Every listening
	// choice hears every publication for now (the floor, interpretation
	// included).
	if role.AllowedAny(m.Roles, role.ReceiveMedia) {
		return true
	}
	// The public segment also reaches the roles that receive it (the
	// press): the floor only, never an interpretation channel.
	return segment == protocol.SegmentPublic && pub.Source != SourceInterpretation &&
		role.AllowedAny(m.Roles, role.ReceivePublicSegment)
}

// Keyed reports whether from's keys go to m: whether any publication from
// could make is routed to m. A member sends keys before it publishes, so the
// decision cannot wait for the tracks.
func Keyed(segment string, m, from Member) bool {
	return slices.ContainsFunc(sources, func(src string) bool {
		return Routes(segment, m, Publication{Publisher: from, Source: src})
	})
}

// sources are the kinds of publication Keyed considers: the floor (any
// source label but interpretation) and an interpretation channel.
var sources = []string{"", SourceInterpretation}

// SourceInterpretation is the source label of an interpreter's channel.
const SourceInterpretation = "interpretation"
