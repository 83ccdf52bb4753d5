package server

import (
	"testing"
	"time"

	"hotline/internal/audit"
	"hotline/internal/call"
	"hotline/internal/protocol"
)

// TestRecordEntry: each live call event becomes the record entry PROTOCOL
// "Call record and readouts" names, segment changes with their marker.
func TestRecordEntry(t *testing.T) {
	m := call.Identity{ID: "p1", Name: "Alice", Device: "d1", Side: "east"}
	at := time.UnixMilli(1795000000123)
	mk := &protocol.Marker{Line: "demo", Call: "c-1", Segment: "public", Seq: 1, At: at.UnixMilli(), Sig: "x"}
	for _, c := range []struct {
		ev   call.Event
		want audit.Entry
	}{
		{call.Event{Kind: call.EventMoved, Call: "demo/c-1", Member: m, From: call.StateWaiting, To: call.StateIn, By: "Bob"},
			audit.Entry{Kind: audit.Admitted, From: "waiting", To: "in", By: "Bob"}},
		{call.Event{Kind: call.EventMoved, Call: "demo/c-1", Member: m, From: call.StateIn, To: call.StateBench, By: "Bob"},
			audit.Entry{Kind: audit.SentOut, From: "in", To: "bench", By: "Bob"}},
		{call.Event{Kind: call.EventLeft, Call: "demo/c-1", Member: m, From: call.StateIn, Why: "removed by Bob"},
			audit.Entry{Kind: audit.Removed, From: "in", By: "Bob"}},
		{call.Event{Kind: call.EventSegment, Call: "demo/c-1", Segment: "public", Marker: mk},
			audit.Entry{Kind: audit.Segment, To: "public", Marker: mk}},
	} {
		c.ev.At = at
		got, ok := recordEntry(c.ev)
		if !ok || got.Line != "demo" || got.Call != "c-1" || got.At != at.UnixMilli() || got.Kind != c.want.Kind ||
			got.From != c.want.From || got.To != c.want.To || got.By != c.want.By || got.Marker != c.want.Marker {
			t.Errorf("%s: %+v", c.ev.Kind, got)
		}
		if c.ev.Member.ID != "" && (got.Participant != "p1" || got.Device != "d1" || got.Name != "Alice" || got.Side != "east") {
			t.Errorf("%s: member %+v", c.ev.Kind, got)
		}
	}
}
