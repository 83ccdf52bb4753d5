// Package readiness is the server's side of the readiness probes (issue
// 14): it verifies each probe's signed result (internal/probe) against the
// line's pins, stores it, judges the line's state from the latest test
// calls, alerts on every change to degraded or down and on recovery, and
// deletes results past the retention. The /readiness page (page.go) and
// the schedule's go/no-go come from it.
package readiness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hotline/internal/enrol"
	"hotline/internal/probe"
	"hotline/internal/store"
)

// Observer is told of each stored result and each line's state (the
// server's metrics implement it). Optional.
type Observer interface {
	ProbeResult(line string, r probe.Result)
	ProbeState(line string, s probe.State)
}

// Notifier delivers alerts (internal/alert); Notify must not block.
type Notifier interface {
	Notify(event any) bool
}

// Config of the service.
type Config struct {
	Store      *store.Store
	Thresholds probe.Thresholds // zero: probe.DefaultThresholds
	// Retention: results started longer ago are deleted (0: DefaultRetention).
	Retention time.Duration
	Alerts    Notifier // optional
	Observer  Observer // optional
	// Stored, optional, is handed every result once it is stored, with its
	// signed report as it came: the place where an audit log takes it.
	Stored func(line string, report []byte, r probe.Result)
	// Changed, optional, is handed every alert as it is sent: the place
	// where an audit log takes the line's transitions.
	Changed func(Event)
	Now     func() time.Time // nil: time.Now
	Log     *slog.Logger
}

// DefaultRetention keeps the 30 days the page plots, and a margin.
const DefaultRetention = 90 * 24 * time.Hour

// judgedRuns bounds the results read to judge a line's state.
const judgedRuns = 64

// Event is an alert: the line's state changed to degraded or down, or
// recovered to green. It is POSTed as JSON to the webhooks.
type Event struct {
	Type   string      `json:"type"` // "readiness"
	Line   string      `json:"line"`
	From   probe.State `json:"from"`
	To     probe.State `json:"to"`
	Reason string      `json:"reason"`
	Run    string      `json:"run"`
	At     time.Time   `json:"at"`
}

// Service is the readiness of the server's lines.
type Service struct {
	cfg  Config
	mu   sync.Mutex             // serialises Submit: each judges after the one before
	last map[string]probe.State // per line, the state alerts were sent for
}

// New makes the service.
func New(cfg Config) *Service {
	if cfg.Thresholds == (probe.Thresholds{}) {
		cfg.Thresholds = probe.DefaultThresholds
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, last: make(map[string]probe.State)}
}

// Errors of Submit besides probe's verification errors.
var (
	ErrUnknownLine = errors.New("readiness: unknown line")
	ErrConflict    = errors.New("readiness: another result of this side for this test call is stored")
)

// Submit verifies a report (its JSON form), stores it, judges the line
// again and answers with every report stored for the same test call. The
// same report sent again is stored once and answered the same way (a probe
// asks again for the other side's result so); a different report of the
// same side for the same call is ErrConflict. A refused report changes
// nothing stored.
func (s *Service) Submit(ctx context.Context, data []byte) (probe.RunReports, error) {
	rep, err := probe.ParseReport(data)
	if err != nil {
		return probe.RunReports{}, err
	}
	claimed, err := probe.BodyOf(rep) // unverified: only to find the line's pins
	if err != nil {
		return probe.RunReports{}, err
	}
	l, err := s.cfg.Store.Line(ctx, claimed.Line)
	if errors.Is(err, store.ErrNotFound) {
		return probe.RunReports{}, fmt.Errorf("%w %q", ErrUnknownLine, claimed.Line)
	}
	if err != nil {
		return probe.RunReports{}, err
	}
	now := s.cfg.Now()
	r, id, err := probe.Verify(rep, l.Name, enrol.Pins(l), now)
	if err != nil {
		return probe.RunReports{}, err
	}
	if r.PeerSide != "" && r.PeerSide != l.A.Name && r.PeerSide != l.B.Name {
		return probe.RunReports{}, fmt.Errorf("%w: peer side %q is not on line %s", probe.ErrMalformed, r.PeerSide, l.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.last[l.Name]; !ok {
		v, err := s.judge(ctx, l)
		if err != nil {
			return probe.RunReports{}, err
		}
		s.last[l.Name] = v.State
	}
	_, err = s.cfg.Store.AddProbeResult(ctx, store.ProbeResult{
		Line: l.Name, Run: r.Run, Side: id.Side, Device: id.DeviceID,
		Started: time.UnixMilli(r.Started), Received: now, OK: r.OK, Report: data,
	})
	fresh := err == nil
	if err != nil && !errors.Is(err, store.ErrProbeDuplicate) {
		return probe.RunReports{}, err
	}
	rows, err := s.cfg.Store.ProbeRun(ctx, l.Name, r.Run)
	if err != nil {
		return probe.RunReports{}, err
	}
	out := probe.RunReports{Run: r.Run, Reports: []probe.Report{}}
	for _, row := range rows {
		if row.Side == id.Side && !fresh && string(row.Report) != string(data) {
			return probe.RunReports{}, ErrConflict
		}
		stored, err := probe.ParseReport(row.Report)
		if err != nil {
			return probe.RunReports{}, err
		}
		out.Reports = append(out.Reports, stored)
	}
	if !fresh {
		return out, nil
	}
	if s.cfg.Stored != nil {
		s.cfg.Stored(l.Name, data, r)
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.ProbeResult(l.Name, r)
	}
	v, err := s.judge(ctx, l)
	if err != nil {
		return out, err
	}
	s.transition(l.Name, v, now)
	return out, nil
}

// transition records the line's new state and alerts when it turned
// degraded or down, or recovered: once per change.
func (s *Service) transition(line string, v probe.Verdict, now time.Time) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.ProbeState(line, v.State)
	}
	from := s.last[line]
	if v.State == from || v.State == probe.Unknown {
		return
	}
	s.last[line] = v.State
	bad := func(st probe.State) bool { return st == probe.Degraded || st == probe.Down }
	if !bad(v.State) && !bad(from) {
		return // unknown → green: nothing to tell
	}
	s.cfg.Log.Warn("readiness: line state changed", "line", line, "from", from, "to", v.State, "reason", v.Reason)
	ev := Event{Type: "readiness", Line: line, From: from, To: v.State, Reason: v.Reason, Run: v.Run, At: now.UTC()}
	if s.cfg.Changed != nil {
		s.cfg.Changed(ev)
	}
	if s.cfg.Alerts != nil {
		s.cfg.Alerts.Notify(ev)
	}
}

// Verdict is line's state now.
func (s *Service) Verdict(ctx context.Context, line string) (probe.Verdict, error) {
	l, err := s.cfg.Store.Line(ctx, line)
	if errors.Is(err, store.ErrNotFound) {
		return probe.Verdict{}, fmt.Errorf("%w %q", ErrUnknownLine, line)
	}
	if err != nil {
		return probe.Verdict{}, err
	}
	return s.judge(ctx, l)
}

// judge reads the line's latest results and gives its state.
func (s *Service) judge(ctx context.Context, l store.Line) (probe.Verdict, error) {
	rows, err := s.cfg.Store.ProbeResults(ctx, l.Name, time.Time{}, judgedRuns)
	if err != nil {
		return probe.Verdict{}, err
	}
	return probe.Judge(groupRuns(decode(rows)), [2]string{l.A.Name, l.B.Name}, s.cfg.Thresholds), nil
}

// Run is one test call's stored results.
type Run struct {
	Name    string
	Started time.Time
	Results []probe.Result
}

// decode reads the stored reports' bodies, skipping any that no longer decode.
func decode(rows []store.ProbeResult) []probe.Result {
	out := make([]probe.Result, 0, len(rows))
	for _, row := range rows {
		rep, err := probe.ParseReport(row.Report)
		if err != nil {
			continue
		}
		if r, err := probe.BodyOf(rep); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// groupRuns groups results (newest first) by run, keeping the order.
func groupRuns(rs []probe.Result) [][]probe.Result {
	var out [][]probe.Result
	at := make(map[string]int)
	for _, r := range rs {
		i, ok := at[r.Run]
		if !ok {
			i = len(out)
			at[r.Run] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// History is line's runs started since, newest first.
func (s *Service) History(ctx context.Context, line string, since time.Time, limit int) ([]Run, error) {
	rows, err := s.cfg.Store.ProbeResults(ctx, line, since, limit)
	if err != nil {
		return nil, err
	}
	var out []Run
	for _, g := range groupRuns(decode(rows)) {
		run := Run{Name: g[0].Run, Started: time.UnixMilli(g[0].Started), Results: g}
		for _, r := range g {
			if t := time.UnixMilli(r.Started); t.Before(run.Started) {
				run.Started = t
			}
		}
		out = append(out, run)
	}
	return out, nil
}

// Retain deletes the results past the retention; it returns how many.
func (s *Service) Retain(ctx context.Context) (int64, error) {
	return s.cfg.Store.DeleteProbeResultsBefore(ctx, s.cfg.Now().Add(-s.cfg.Retention))
}

// KeepRetaining runs Retain every interval until ctx ends.
func (s *Service) KeepRetaining(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Retain(ctx); err != nil {
			s.cfg.Log.Warn("readiness: retention", "err", err)
		} else if n > 0 {
			s.cfg.Log.Info("readiness: old probe results deleted", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
