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
// roles allow receive_public_segment (the press: the floor only).
// Interpretation narrows it by language (a channel reaches the listeners of
// its language, the booth's live interpreter only) and relay (an
// interpreter who relays another channel does not receive the floor).
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
	// Interprets is the language of the booth an interpreter sits in ("":
	// none); Live: its microphone is the booth's live one.
	Interprets string
	Live       bool
}

// Publication is one published track as the rule sees it: who publishes
// it and its source label ("interpretation" for an interpreter's channel).
type Publication struct {
	Publisher Member
	Source    string
	// Mode is the call's interpretation mode (protocol.ModeConsecutive:
	// every channel to everyone); "" is simultaneous.
	Mode string
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
	// operator, the press or a role that does not receive. The public
	// segment also reaches the roles that receive it (the press): the floor
	// only, never an interpretation channel.
	if !role.AllowedAny(m.Roles, role.ReceiveMedia) {
		return segment == protocol.SegmentPublic && pub.Source != SourceInterpretation &&
			role.AllowedAny(m.Roles, role.ReceivePublicSegment)
	}
	if pub.Source == SourceInterpretation {
		// A channel: its language is its interpreter's booth. Only the
		// booth's live microphone is heard, by the listeners (and relaying
		// interpreters) of that language, or by everyone in consecutive mode.
		lang := pub.Publisher.Interprets
		if lang == "" || !pub.Publisher.Live {
			return false
		}
		return pub.Mode == protocol.ModeConsecutive || m.Listening == lang
	}
	// The floor reaches every listener (ducked under a picked language on
	// the listener's device), but not an interpreter who relays a channel:
	// the relay replaces the floor.
	return m.Interprets == "" || m.Listening == protocol.ListenFloor
}

// Keyed reports whether from's keys go to m: whether any publication from
// could make is routed to m, under any listening choice of m, booth turn or
// mode. A member sends keys before it publishes, so the decision cannot wait
// for the tracks; and picking a language, relaying or handing over the
// microphone must not wait for new keys, so none of them changes it.
func Keyed(segment string, m, from Member) bool {
	m.Listening = protocol.ListenFloor
	from.Live = true
	if from.Interprets == "" {
		from.Interprets = "und" // a channel of some language, for the rule
	}
	return slices.ContainsFunc(sources, func(src string) bool {
		return Routes(segment, m, Publication{Publisher: from, Source: src, Mode: protocol.ModeConsecutive})
	})
}

// sources are the kinds of publication Keyed considers: the floor (any
// source label but interpretation) and an interpretation channel.
var sources = []string{"", SourceInterpretation}

// SourceInterpretation is the source label of an interpreter's channel.
const SourceInterpretation = protocol.SourceInterpretation
