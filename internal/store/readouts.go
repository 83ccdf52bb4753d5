package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"hotline/internal/audit"
)

// Readout is a side's signed readout of a booked call, as stored (migration
// 6). Readouts are only ever added: a correction is another readout.
type Readout struct {
	ID, Line, Call, Side, Name string
	Published                  time.Time
	Corrects                   string // "" unless it corrects another
	Signed                     string // the signed readout's JSON, as received
	Seq                        uint64 // its entry in the line's record
}

// AddReadout stores r and appends its entry (kind readout, of device) to
// the line's record, in one transaction. An id already stored is ErrExists.
func (s *Store) AddReadout(ctx context.Context, r Readout, device string) (Readout, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return r, fmt.Errorf("store: readout: %w", err)
	}
	defer tx.Rollback()
	e, err := appendRecord(ctx, tx, audit.Entry{Line: r.Line, At: s.now().UnixMilli(), Kind: audit.Readout, Call: r.Call,
		Device: device, Name: r.Name, Side: r.Side, Ref: r.ID})
	if err != nil {
		return r, err
	}
	r.Seq = e.Seq
	var corrects sql.NullString
	if r.Corrects != "" {
		corrects = sql.NullString{String: r.Corrects, Valid: true}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO readouts(id, line, call, side, name, published, corrects, signed, seq)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Line, r.Call, r.Side, r.Name, r.Published.Unix(), corrects, r.Signed, r.Seq)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "PRIMARY KEY") {
			return r, fmt.Errorf("store: readout %s: %w", r.ID, ErrExists)
		}
		return r, fmt.Errorf("store: readout %s: %w", r.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return r, fmt.Errorf("store: readout %s: %w", r.ID, err)
	}
	return r, nil
}

const readoutColumns = `id, line, call, side, name, published, corrects, signed, seq`

func scanReadout(sc interface{ Scan(...any) error }) (Readout, error) {
	var r Readout
	var published int64
	var corrects sql.NullString
	err := sc.Scan(&r.ID, &r.Line, &r.Call, &r.Side, &r.Name, &published, &corrects, &r.Signed, &r.Seq)
	r.Published, r.Corrects = time.Unix(published, 0).UTC(), corrects.String
	return r, err
}

// Readouts lists line's readouts in the order they were published, at most limit.
func (s *Store) Readouts(ctx context.Context, line string, limit int) ([]Readout, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+readoutColumns+` FROM readouts WHERE line = ? ORDER BY seq LIMIT ?`, line, limit)
	if err != nil {
		return nil, fmt.Errorf("store: readouts of %s: %w", line, err)
	}
	defer rows.Close()
	var out []Readout
	for rows.Next() {
		r, err := scanReadout(rows)
		if err != nil {
			return nil, fmt.Errorf("store: readouts of %s: %w", line, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Readout returns one readout (ErrNotFound).
func (s *Store) Readout(ctx context.Context, id string) (Readout, error) {
	r, err := scanReadout(s.read.QueryRowContext(ctx, `SELECT `+readoutColumns+` FROM readouts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("store: readout %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: readout %s: %w", id, err)
	}
	return r, nil
}
