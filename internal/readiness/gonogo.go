package readiness

import (
	"context"
	"time"

	"hotline/internal/api"
	"hotline/internal/probe"
)

// GoWindow is how long before a booked call's start its go/no-go is taken from.
const GoWindow = time.Hour

// GoNoGo is the schedule's badge of a call of line starting at start, from
// the test calls that began in the hour before it (up to now): go when the
// latest judged one is green, no-go when degraded or down, unknown when
// there was none (or the hour has not begun).
func (s *Service) GoNoGo(ctx context.Context, line string, start time.Time) (api.Readiness, error) {
	now := s.cfg.Now()
	from, until := start.Add(-GoWindow), start
	if now.Before(until) {
		until = now
	}
	if from.After(until) {
		return api.Readiness{Badge: api.BadgeUnknown, Reason: "the test calls of the hour before the call decide"}, nil
	}
	l, err := s.cfg.Store.Line(ctx, line)
	if err != nil {
		return api.Readiness{}, err
	}
	rows, err := s.cfg.Store.ProbeResults(ctx, line, from, judgedRuns)
	if err != nil {
		return api.Readiness{}, err
	}
	var rs []probe.Result
	for _, r := range decode(rows) {
		if !time.UnixMilli(r.Started).After(until) {
			rs = append(rs, r)
		}
	}
	v := probe.Judge(groupRuns(rs), [2]string{l.A.Name, l.B.Name}, s.cfg.Thresholds)
	out := api.Readiness{State: string(v.State), Reason: v.Reason, Run: v.Run}
	switch v.State {
	case probe.Green:
		out.Badge = api.BadgeGo
	case probe.Degraded, probe.Down:
		out.Badge = api.BadgeNoGo
	default:
		out.Badge, out.Reason = api.BadgeUnknown, "no test call passed or failed in the hour before the call"
	}
	return out, nil
}
