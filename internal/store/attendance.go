package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Attendance is one participant's stay in a live call: one row of the
// attendance table, written by the server's lifecycle from the live call's
// events (never under the call's lock).
type Attendance struct {
	Call        string // the live call's name, "<line>/<call>"
	Participant string // participant id
	Name        string
	Joined      time.Time
	Left        time.Time // zero while in the call
}

// Joined records that participant id (name) joined the live call callName at at.
func (s *Store) Joined(ctx context.Context, callName, id, name string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO attendance(call, participant, name, joined_at) VALUES(?, ?, ?, ?)`,
		callName, id, name, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: attendance of %s: join: %w", callName, err)
	}
	return nil
}

// Left records that participant id left at at; a participant not in a call
// (or already gone) changes nothing.
func (s *Store) Left(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE attendance SET left_at = ? WHERE participant = ? AND left_at IS NULL`, at.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: attendance: leave: %w", err)
	}
	return nil
}

// Attendance lists who was in the live call callName, oldest first, at most limit.
func (s *Store) Attendance(ctx context.Context, callName string, limit int) ([]Attendance, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT call, participant, name, joined_at, left_at FROM attendance WHERE call = ? ORDER BY joined_at, id LIMIT ?`, callName, limit)
	if err != nil {
		return nil, fmt.Errorf("store: attendance: %w", err)
	}
	defer rows.Close()
	var out []Attendance
	for rows.Next() {
		var x Attendance
		var joined int64
		var left sql.NullInt64
		if err := rows.Scan(&x.Call, &x.Participant, &x.Name, &joined, &left); err != nil {
			return nil, fmt.Errorf("store: attendance: %w", err)
		}
		x.Joined = time.UnixMilli(joined)
		if left.Valid {
			x.Left = time.UnixMilli(left.Int64)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// CloseOpenAttendance marks stays left open by an unclean stop as ended now;
// called at start-up, when nobody can be in a live call yet.
func (s *Store) CloseOpenAttendance(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE attendance SET left_at = ? WHERE left_at IS NULL`, s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: close open attendance: %w", err)
	}
	return res.RowsAffected()
}
