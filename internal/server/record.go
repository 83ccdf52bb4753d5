package server

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"hotline/internal/audit"
	"hotline/internal/call"
	"hotline/internal/readiness"
	"hotline/internal/store"
)

// record appends a live call's event to its line's call record
// (internal/audit). Booked calls' transitions are appended by the store
// with the transition itself; witness statements and signed heads by the
// HTTP API.
func (l *lifecycle) record(ctx context.Context, ev call.Event) {
	e, ok := recordEntry(ev)
	if !ok {
		return
	}
	if _, err := l.store.AppendRecord(ctx, e); err != nil {
		l.log.Error("call record", "call", ev.Call, "kind", ev.Kind, "err", err)
	}
}

// removedBy is how a left event's Why names a removal (internal/call).
const removedBy = "removed by "

// recordEntry is the record entry of a live call's event (a segment change
// with its signed marker). A new kind of event gets its case here and its
// audit.Kind; an event without one is not recorded. Probe results and
// readiness alerts come from internal/readiness (recordProbe, recordAlert).
func recordEntry(ev call.Event) (audit.Entry, bool) {
	line, name, ok := strings.Cut(ev.Call, "/")
	if !ok {
		return audit.Entry{}, false
	}
	e := audit.Entry{Line: line, Call: name, At: ev.At.UnixMilli()}
	m := ev.Member
	withMember := func(k audit.Kind) {
		e.Kind, e.Participant, e.Device, e.Name, e.Side = k, m.ID, m.Device, m.Name, m.Side
	}
	switch ev.Kind {
	case call.EventOpened:
		e.Kind = audit.Opened
	case call.EventJoined:
		withMember(audit.Joined)
		e.To, e.Reason = string(ev.To), ev.Why
	case call.EventMoved:
		withMember(moveKind(ev.From, ev.To))
		e.From, e.To, e.By = string(ev.From), string(ev.To), ev.By
	case call.EventLeft:
		withMember(audit.Left)
		e.From, e.Reason = string(ev.From), ev.Why
		if by, ok := strings.CutPrefix(ev.Why, removedBy); ok {
			e.Kind, e.By, e.Reason = audit.Removed, by, ""
		}
	case call.EventClosed:
		e.Kind, e.Reason, e.By = audit.Closed, ev.Why, ev.By
	case call.EventSegment:
		e.Kind, e.To, e.Marker = audit.Segment, ev.Segment, ev.Marker
	case call.EventKey:
		withMember(audit.Key)
		kid := ev.KID
		e.KID = &kid
	default:
		return audit.Entry{}, false
	}
	return e, true
}

// moveKind names a move: admitted from the lobby, called in from the
// bench, sent out to it.
func moveKind(from, to call.State) audit.Kind {
	switch {
	case from == call.StateWaiting && to == call.StateIn:
		return audit.Admitted
	case from == call.StateBench && to == call.StateIn:
		return audit.CalledIn
	case from == call.StateIn && to == call.StateBench:
		return audit.SentOut
	}
	return audit.Moved
}

// recordProbe appends a stored probe result to its line's record, its
// signed report within (internal/readiness's Config.Stored).
func recordProbe(st *store.Store, log *slog.Logger, line string, report []byte) {
	e, err := audit.ProbeEntry(line, time.Now(), report)
	if err == nil {
		_, err = st.AppendRecord(context.Background(), e)
	}
	if err != nil {
		log.Error("call record: probe result", "line", line, "err", err)
	}
}

// recordAlert appends a line's readiness transition to its record
// (internal/readiness's Config.Changed).
func recordAlert(st *store.Store, log *slog.Logger, ev readiness.Event) {
	e := audit.Entry{Line: ev.Line, At: ev.At.UnixMilli(), Kind: audit.Alert, Call: ev.Run,
		From: string(ev.From), To: string(ev.To), Reason: ev.Reason}
	if _, err := st.AppendRecord(context.Background(), e); err != nil {
		log.Error("call record: readiness alert", "line", ev.Line, "err", err)
	}
}
