package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Revocation is a side's current signed revocation list for a line
// (docs/PROTOCOL.md, "Revocation"), as the authority signed it. The store
// does not verify it: internal/revocation does, before PutRevocation.
type Revocation struct {
	Line, Side string
	Serial     int64
	Body, Sig  string // the envelope's b64u strings, as signed
	StoredAt   time.Time
}

// ErrStaleSerial: a list whose serial is not above the stored one.
var ErrStaleSerial = errors.New("revocation serial is not above the stored one")

// PutRevocation makes r the side's current list for the line, in one
// transaction, if its serial is above the stored one's (ErrStaleSerial
// otherwise: a list never goes back, whoever asks).
func (s *Store) PutRevocation(ctx context.Context, r Revocation) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: revocation: %w", err)
	}
	defer tx.Rollback()
	var serial int64
	err = tx.QueryRowContext(ctx, `SELECT serial FROM revocations WHERE line = ? AND side = ?`, r.Line, r.Side).Scan(&serial)
	switch {
	case err == nil:
		if r.Serial <= serial {
			return fmt.Errorf("%w: %d, stored %d", ErrStaleSerial, r.Serial, serial)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: revocation: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO revocations(line, side, serial, body, sig, stored_at) VALUES(?, ?, ?, ?, ?, ?)
		ON CONFLICT(line, side) DO UPDATE SET serial = excluded.serial, body = excluded.body, sig = excluded.sig, stored_at = excluded.stored_at`,
		r.Line, r.Side, r.Serial, r.Body, r.Sig, s.now().Unix())
	if err != nil {
		return fmt.Errorf("store: revocation: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: revocation: %w", err)
	}
	return nil
}

// Revocations lists every stored list, by line and side.
func (s *Store) Revocations(ctx context.Context) ([]Revocation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT line, side, serial, body, sig, stored_at FROM revocations ORDER BY line, side`)
	if err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	defer rows.Close()
	var out []Revocation
	for rows.Next() {
		var r Revocation
		var at int64
		if err := rows.Scan(&r.Line, &r.Side, &r.Serial, &r.Body, &r.Sig, &at); err != nil {
			return nil, fmt.Errorf("store: revocations: %w", err)
		}
		r.StoredAt = time.Unix(at, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
