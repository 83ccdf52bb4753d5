package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ProbeResult is one stored readiness probe result (issue 14): the side's
// signed report as it came, and copies of what queries need. The store
// does not read reports; internal/probe verifies them before they are
// added and decodes them when they are shown.
type ProbeResult struct {
	ID       int64
	Line     string
	Run      string // the test call's name
	Side     string
	Device   string
	Started  time.Time
	Received time.Time
	OK       bool
	Report   []byte // the JSON report: body, signature, credential
}

// ErrProbeDuplicate: a side's result for a test call is already stored.
var ErrProbeDuplicate = errors.New("store: already stored")

// AddProbeResult stores r; a second result of the same side for the same
// run is ErrProbeDuplicate and changes nothing. It returns the row's id.
func (s *Store) AddProbeResult(ctx context.Context, r ProbeResult) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: probe result: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM probe_results WHERE line = ? AND run = ? AND side = ?`, r.Line, r.Run, r.Side).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: probe result: %w", err)
	}
	if n > 0 {
		return 0, fmt.Errorf("%w: the %s result of %s", ErrProbeDuplicate, r.Side, r.Run)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO probe_results(line, run, side, device, started, received, ok, report) VALUES(?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Line, r.Run, r.Side, r.Device, r.Started.UnixMilli(), r.Received.UnixMilli(), r.OK, string(r.Report))
	if err != nil {
		return 0, fmt.Errorf("store: probe result: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: probe result: %w", err)
	}
	return id, tx.Commit()
}

// ProbeResults lists line's results started at or after since, newest
// first, at most limit.
func (s *Store) ProbeResults(ctx context.Context, line string, since time.Time, limit int) ([]ProbeResult, error) {
	return s.probeResults(ctx, `WHERE line = ? AND started >= ? ORDER BY started DESC, id DESC LIMIT ?`, line, since.UnixMilli(), limit)
}

// ProbeRun lists the results stored for one test call of line.
func (s *Store) ProbeRun(ctx context.Context, line, run string) ([]ProbeResult, error) {
	return s.probeResults(ctx, `WHERE line = ? AND run = ? ORDER BY id`, line, run)
}

func (s *Store) probeResults(ctx context.Context, where string, args ...any) ([]ProbeResult, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, line, run, side, device, started, received, ok, report FROM probe_results `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: probe results: %w", err)
	}
	defer rows.Close()
	var out []ProbeResult
	for rows.Next() {
		var r ProbeResult
		var started, received int64
		var report string
		if err := rows.Scan(&r.ID, &r.Line, &r.Run, &r.Side, &r.Device, &started, &received, &r.OK, &report); err != nil {
			return nil, fmt.Errorf("store: probe results: %w", err)
		}
		r.Started, r.Received, r.Report = time.UnixMilli(started), time.UnixMilli(received), []byte(report)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: probe results: %w", err)
	}
	return out, nil
}

// DeleteProbeResultsBefore deletes the probe results started before t, and
// nothing else: the retention of readiness history. It returns how many.
func (s *Store) DeleteProbeResultsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM probe_results WHERE started < ?`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: probe retention: %w", err)
	}
	return res.RowsAffected()
}
