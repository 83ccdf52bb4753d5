package call

import (
	"hotline/internal/protocol"
	"hotline/internal/route"
)

// Routing: the per-pair rule of internal/route decides both what the call
// forwards (who is sent Subscribe for which publication) and, on every
// client, to whom keys go; both read the same roster fields (segment,
// mode, state, roles, listening, booth), so they agree.

// view is what the rule sees of a member: what its roster entry says.
func (e *entry) view() route.Member {
	return route.Member{State: string(e.state), Roles: e.id.Roles, Listening: e.listening,
		Interprets: e.booth.interprets, Live: e.booth.live}
}

// routes reports whether pub, published by owner, goes to m.
func (c *Call) routes(m, owner *entry, pub Publication) bool {
	if m == owner {
		return false
	}
	return route.Routes(c.segment, m.view(), route.Publication{Publisher: owner.view(), Source: pub.Info.Source, Mode: c.interp.mode})
}

// deliver brings m's subscription to pub in line with want: Subscribe or
// Unsubscribe when it changes, nothing otherwise.
func (c *Call) deliver(m *entry, pub Publication, want bool) {
	k := keyOf(pub)
	switch has := m.got[k]; {
	case want && !has:
		m.got[k] = true
		m.sink.Subscribe(pub)
	case !want && has:
		delete(m.got, k)
		m.sink.Unsubscribe(pub)
	}
}

// syncLocked re-applies the rule to every pair that involves e (after e
// joined or moved): others' subscriptions to e's tracks, and e's to theirs.
func (c *Call) syncLocked(e *entry) {
	for _, o := range c.members {
		if o == e {
			continue
		}
		for _, p := range e.tracks {
			c.deliver(o, p, c.routes(o, e, p))
		}
		for _, p := range o.tracks {
			c.deliver(e, p, c.routes(e, o, p))
		}
	}
}

// keyedLocked reports whether from's key messages may go to m: from is a
// key member (a member in the call whose roles receive media, as each
// client judges its own entry) and from's media is routed to m.
func (c *Call) keyedLocked(m, from *entry) bool {
	in := route.Member{State: protocol.StateIn, Listening: protocol.ListenFloor}
	return route.Keyed(c.segment, from.view(), in) && route.Keyed(c.segment, m.view(), from.view())
}
