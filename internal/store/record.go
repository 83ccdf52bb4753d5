package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"hotline/internal/audit"
)

// AppendRecord appends e to its line's record (migration 6): it takes the
// next seq and the last entry's hash in the same transaction as the insert,
// so entries chain in the order they are written. It returns e as stored.
func (s *Store) AppendRecord(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return e, fmt.Errorf("store: record of %s: %w", e.Line, err)
	}
	defer tx.Rollback()
	if e, err = appendRecord(ctx, tx, e); err != nil {
		return e, err
	}
	if err := tx.Commit(); err != nil {
		return e, fmt.Errorf("store: record of %s: %w", e.Line, err)
	}
	return e, nil
}

// appendRecord appends e within tx.
func appendRecord(ctx context.Context, tx *sql.Tx, e audit.Entry) (audit.Entry, error) {
	var seq uint64
	var prev []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM record_entries WHERE line = ? ORDER BY seq DESC LIMIT 1`, e.Line).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("store: record of %s: %w", e.Line, err)
	}
	e, enc, hash, err := audit.Link(e, seq, prev)
	if err != nil {
		return e, fmt.Errorf("store: record of %s: %w", e.Line, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO record_entries(line, seq, entry, hash) VALUES(?, ?, ?, ?)`,
		e.Line, e.Seq, string(enc), hash); err != nil {
		return e, fmt.Errorf("store: record of %s: %w", e.Line, err)
	}
	return e, nil
}

// Record returns the encodings of line's entries, in order of seq, at most
// limit.
func (s *Store) Record(ctx context.Context, line string, limit int) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT entry FROM record_entries WHERE line = ? ORDER BY seq LIMIT ?`, line, limit)
	if err != nil {
		return nil, fmt.Errorf("store: record of %s: %w", line, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var x string
		if err := rows.Scan(&x); err != nil {
			return nil, fmt.Errorf("store: record of %s: %w", line, err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// RecordHead is the last entry of line's record: its seq and hash (0, nil
// for an empty record).
func (s *Store) RecordHead(ctx context.Context, line string) (uint64, []byte, error) {
	var seq uint64
	var hash []byte
	err := s.read.QueryRowContext(ctx, `SELECT seq, hash FROM record_entries WHERE line = ? ORDER BY seq DESC LIMIT 1`, line).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("store: record of %s: %w", line, err)
	}
	return seq, hash, nil
}

// transitionKinds: the record entry of each booked call event.
var transitionKinds = map[string]audit.Kind{
	"request": audit.Requested, "accept": audit.Accepted, "decline": audit.Declined,
	"cancel": audit.Cancelled, "start": audit.Started, "end": audit.Ended,
}

// recordTransition appends a booked call's transition to its line's
// record, in the transaction that writes the transition.
func recordTransition(ctx context.Context, tx *sql.Tx, id string, t CallTransition) error {
	kind, ok := transitionKinds[t.Event]
	if !ok {
		return fmt.Errorf("store: call %q: no record entry for event %q", id, t.Event)
	}
	var line string
	if err := tx.QueryRowContext(ctx, `SELECT line FROM calls WHERE id = ?`, id).Scan(&line); err != nil {
		return fmt.Errorf("store: call %q: %w", id, err)
	}
	at := t.At
	if at.IsZero() {
		at = time.Now()
	}
	_, err := appendRecord(ctx, tx, audit.Entry{Line: line, At: at.UnixMilli(), Kind: kind, Call: id,
		Side: t.BySide, Name: t.ByName, From: t.From, To: t.To})
	return err
}
