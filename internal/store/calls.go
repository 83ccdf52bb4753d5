package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrConflict: the call changed between reading it and writing it (another
// update won); nothing was written. Read it again and decide again.
var ErrConflict = errors.New("the call was changed concurrently")

// Call is a stored call (migration 3). The store keeps the fields as given;
// internal/booking checks them with internal/schedule before they get here
// and again when it reads them back.
type Call struct {
	ID, Line       string
	Kind           string // video | phone
	InitiatingSide string
	State          string
	ScheduledStart time.Time
	Duration       time.Duration // whole minutes
	PublicOpening  time.Duration // whole minutes; 0: none
	Agenda         []string
	ActualStart    time.Time // zero until live
	ActualEnd      time.Time // zero until ended
	// Version counts the call's writes: 1 when added, +1 per update.
	Version      int64
	Created      time.Time
	Participants []CallParticipant // in the order they were named
	Languages    []string          // interpretation languages (migration 6)
	Transitions  []CallTransition  // oldest first; the first is the request
}

// CallParticipant is someone a side names on a call in advance.
type CallParticipant struct {
	Side, Name string
	Roles      []string
	// Interprets: the languages an interpreter may serve (migration 11);
	// empty: any of the call's.
	Interprets []string
}

// CallTransition is one step of a call's state machine.
type CallTransition struct {
	From, To, Event string
	BySide, ByName  string
	At              time.Time
}

// CallUpdate is one transition of a stored call, written as a whole or not
// at all.
type CallUpdate struct {
	Transition   CallTransition
	ActualStart  time.Time // the call's new values (zero: NULL)
	ActualEnd    time.Time
	Participants []CallParticipant // named with the transition (the accepting side's)
}

// ms is t in unix milliseconds, NULL for the zero time.
func ms(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// AddCall records a new call with its participants and transitions (at
// least the request) in one transaction, at version 1. An id in use is
// ErrExists.
func (s *Store) AddCall(ctx context.Context, c Call) error {
	if len(c.Transitions) == 0 {
		return fmt.Errorf("store: call %q: no transition", c.ID)
	}
	agenda, err := json.Marshal(nonNil(c.Agenda))
	if err != nil {
		return fmt.Errorf("store: call %q: %w", c.ID, err)
	}
	languages, err := json.Marshal(nonNil(c.Languages))
	if err != nil {
		return fmt.Errorf("store: call %q: %w", c.ID, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: call %q: %w", c.ID, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM calls WHERE id = ?`, c.ID).Scan(&n); err != nil {
		return fmt.Errorf("store: call %q: %w", c.ID, err)
	}
	if n > 0 {
		return fmt.Errorf("store: call %q: %w", c.ID, ErrExists)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO calls(id, line, kind, initiating_side, state, scheduled_start, duration_minutes,
		public_opening_minutes, agenda, actual_start, actual_end, version, created_at, languages) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		c.ID, c.Line, c.Kind, c.InitiatingSide, c.State, c.ScheduledStart.UnixMilli(), int64(c.Duration/time.Minute), int64(c.PublicOpening/time.Minute),
		string(agenda), ms(c.ActualStart), ms(c.ActualEnd), s.now().UnixMilli(), string(languages))
	if err != nil {
		return fmt.Errorf("store: call %q: %w", c.ID, err)
	}
	if err := addParticipants(ctx, tx, c.ID, 0, c.Participants); err != nil {
		return err
	}
	for i, t := range c.Transitions {
		if err := addTransition(ctx, tx, c.ID, i, t); err != nil {
			return err
		}
	}
	return commit(tx, c.ID)
}

// UpdateCall applies one transition to the call at the version the caller
// read, in one transaction: the call's state and actual times, the
// transition record, and the participants it names. If the call is no
// longer at that version and state (a concurrent update won), nothing is
// written and the error is ErrConflict; an unknown call is ErrNotFound. It
// returns the new version.
func (s *Store) UpdateCall(ctx context.Context, id string, version int64, u CallUpdate) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: call %q: %w", id, err)
	}
	defer tx.Rollback()
	t := u.Transition
	res, err := tx.ExecContext(ctx, `UPDATE calls SET state = ?, actual_start = ?, actual_end = ?, version = version + 1
		WHERE id = ? AND version = ? AND state = ?`, t.To, ms(u.ActualStart), ms(u.ActualEnd), id, version, t.From)
	if err != nil {
		return 0, fmt.Errorf("store: call %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		var cur int64
		switch err := tx.QueryRowContext(ctx, `SELECT version FROM calls WHERE id = ?`, id).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
			return 0, fmt.Errorf("store: call %q: %w", id, ErrNotFound)
		case err != nil:
			return 0, fmt.Errorf("store: call %q: %w", id, err)
		}
		return 0, fmt.Errorf("store: call %q: %w (read at version %d, now %d)", id, ErrConflict, version, cur)
	}
	var seq, pos int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM call_transitions WHERE call = ?`, id).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: call %q: %w", id, err)
	}
	if err := addTransition(ctx, tx, id, seq, t); err != nil {
		return 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM call_participants WHERE call = ?`, id).Scan(&pos); err != nil {
		return 0, fmt.Errorf("store: call %q: %w", id, err)
	}
	if err := addParticipants(ctx, tx, id, pos, u.Participants); err != nil {
		return 0, err
	}
	return version + 1, commit(tx, id)
}

func addParticipants(ctx context.Context, tx *sql.Tx, id string, pos int, ps []CallParticipant) error {
	for i, p := range ps {
		_, err := tx.ExecContext(ctx, `INSERT INTO call_participants(call, side, name, roles, position, interprets) VALUES(?, ?, ?, ?, ?, ?)`,
			id, p.Side, p.Name, strings.Join(p.Roles, ","), pos+i, strings.Join(p.Interprets, ","))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("store: call %q: participant %q of %s: %w", id, p.Name, p.Side, ErrExists)
			}
			return fmt.Errorf("store: call %q: participant: %w", id, err)
		}
	}
	return nil
}

func addTransition(ctx context.Context, tx *sql.Tx, id string, seq int, t CallTransition) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO call_transitions(call, seq, from_state, to_state, event, by_side, by_name, at)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?)`, id, seq, t.From, t.To, t.Event, t.BySide, t.ByName, t.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: call %q: transition: %w", id, err)
	}
	return recordTransition(ctx, tx, id, t)
}

func commit(tx *sql.Tx, id string) error {
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: call %q: %w", id, err)
	}
	return nil
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// Call returns one call with its participants and transitions.
func (s *Store) Call(ctx context.Context, id string) (Call, error) {
	cs, err := s.calls(ctx, `WHERE id = ?`, id)
	if err != nil {
		return Call{}, err
	}
	if len(cs) == 0 {
		return Call{}, fmt.Errorf("store: call %q: %w", id, ErrNotFound)
	}
	return cs[0], nil
}

// CallQuery selects calls of a line.
type CallQuery struct {
	Line   string
	States []string // at least one
	Newest bool     // newest scheduled start first (default: soonest first)
	Limit  int      // at most this many (≤ 0: 100)
}

// Calls lists the calls of a line in the given states, by scheduled start.
func (s *Store) Calls(ctx context.Context, q CallQuery) ([]Call, error) {
	if len(q.States) == 0 {
		return nil, errors.New("store: calls: no state asked for")
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	order := "ASC"
	if q.Newest {
		order = "DESC"
	}
	args := []any{q.Line}
	for _, st := range q.States {
		args = append(args, st)
	}
	args = append(args, q.Limit)
	where := `WHERE line = ? AND state IN (?` + strings.Repeat(", ?", len(q.States)-1) + `) ORDER BY scheduled_start ` + order + `, id LIMIT ?`
	return s.calls(ctx, where, args...)
}

// calls reads calls with their participants and transitions in one read
// transaction, so that a concurrent update cannot show a call's new state
// with its old history. It reads the calls rows and closes them before
// reading each call's details: a transaction has one connection, and an
// open result set holds it.
func (s *Store) calls(ctx context.Context, where string, args ...any) ([]Call, error) {
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: calls: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, line, kind, initiating_side, state, scheduled_start, duration_minutes,
		public_opening_minutes, agenda, actual_start, actual_end, version, created_at, languages FROM calls `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: calls: %w", err)
	}
	var out []Call
	for rows.Next() {
		var c Call
		var start, minutes, opening, created int64
		var agenda, languages string
		var actualStart, actualEnd sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Line, &c.Kind, &c.InitiatingSide, &c.State, &start, &minutes,
			&opening, &agenda, &actualStart, &actualEnd, &c.Version, &created, &languages); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: calls: %w", err)
		}
		if err := json.Unmarshal([]byte(agenda), &c.Agenda); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: call %q: agenda: %w", c.ID, err)
		}
		if err := json.Unmarshal([]byte(languages), &c.Languages); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: call %q: languages: %w", c.ID, err)
		}
		if len(c.Languages) == 0 {
			c.Languages = nil // as written: none
		}
		c.ScheduledStart = time.UnixMilli(start).UTC()
		c.Duration = time.Duration(minutes) * time.Minute
		c.PublicOpening = time.Duration(opening) * time.Minute
		c.ActualStart, c.ActualEnd = fromMS(actualStart), fromMS(actualEnd)
		c.Created = time.UnixMilli(created).UTC()
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: calls: %w", err)
	}
	for i := range out {
		if err := callDetails(ctx, tx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func callDetails(ctx context.Context, tx *sql.Tx, c *Call) error {
	rows, err := tx.QueryContext(ctx, `SELECT side, name, roles, interprets FROM call_participants WHERE call = ? ORDER BY position`, c.ID)
	if err != nil {
		return fmt.Errorf("store: call %q: participants: %w", c.ID, err)
	}
	for rows.Next() {
		var p CallParticipant
		var roles, interprets string
		if err := rows.Scan(&p.Side, &p.Name, &roles, &interprets); err != nil {
			rows.Close()
			return fmt.Errorf("store: call %q: participants: %w", c.ID, err)
		}
		p.Roles = strings.Split(roles, ",")
		if interprets != "" {
			p.Interprets = strings.Split(interprets, ",")
		}
		c.Participants = append(c.Participants, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: call %q: participants: %w", c.ID, err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT from_state, to_state, event, by_side, by_name, at FROM call_transitions WHERE call = ? ORDER BY seq`, c.ID)
	if err != nil {
		return fmt.Errorf("store: call %q: transitions: %w", c.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t CallTransition
		var at int64
		if err := rows.Scan(&t.From, &t.To, &t.Event, &t.BySide, &t.ByName, &at); err != nil {
			return fmt.Errorf("store: call %q: transitions: %w", c.ID, err)
		}
		t.At = time.UnixMilli(at).UTC()
		c.Transitions = append(c.Transitions, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: call %q: transitions: %w", c.ID, err)
	}
	return nil
}
