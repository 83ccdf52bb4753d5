package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the line and enrolment records.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrUsed     = errors.New("enrolment token already used")
	ErrExpired  = errors.New("enrolment token expired")
)

// Side is one side of a line: its name and its authority's public key.
type Side struct {
	Name         string
	AuthorityKey []byte // Ed25519 public key
	TimeZone     string
}

// Line joins two sides.
type Line struct {
	Name string
	A, B Side
}

// AddSide records a side. A side whose name or key exists already is
// refused with ErrExists, unless it is exactly the same side (idempotent).
func (s *Store) AddSide(ctx context.Context, side Side) error {
	if side.TimeZone == "" {
		side.TimeZone = "UTC"
	}
	var key []byte
	err := s.db.QueryRowContext(ctx, `SELECT authority_key FROM sides WHERE name = ?`, side.Name).Scan(&key)
	switch {
	case err == nil:
		if string(key) == string(side.AuthorityKey) {
			return nil
		}
		return fmt.Errorf("store: side %q: %w with another authority key", side.Name, ErrExists)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: side %q: %w", side.Name, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO sides(name, authority_key, time_zone, created_at) VALUES(?, ?, ?, ?)`,
		side.Name, side.AuthorityKey, side.TimeZone, s.now().Unix())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("store: side %q: %w: that authority key belongs to another side", side.Name, ErrExists)
		}
		return fmt.Errorf("store: side %q: %w", side.Name, err)
	}
	return nil
}

// AddLine records a line between two recorded sides.
func (s *Store) AddLine(ctx context.Context, name, sideA, sideB string) error {
	if sideA == sideB {
		return fmt.Errorf("store: line %q: both sides are %q", name, sideA)
	}
	if l, err := s.Line(ctx, name); err == nil {
		if l.A.Name == sideA && l.B.Name == sideB {
			return nil
		}
		return fmt.Errorf("store: line %q: %w between other sides", name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO lines(name, side_a, side_b, created_at) VALUES(?, ?, ?, ?)`, name, sideA, sideB, s.now().Unix())
	if err != nil {
		return fmt.Errorf("store: line %q: %w", name, err)
	}
	return nil
}

// Line returns a line with both sides.
func (s *Store) Line(ctx context.Context, name string) (Line, error) {
	l := Line{Name: name}
	err := s.read.QueryRowContext(ctx, `
		SELECT a.name, a.authority_key, a.time_zone, b.name, b.authority_key, b.time_zone
		FROM lines l JOIN sides a ON a.name = l.side_a JOIN sides b ON b.name = l.side_b
		WHERE l.name = ?`, name).Scan(&l.A.Name, &l.A.AuthorityKey, &l.A.TimeZone, &l.B.Name, &l.B.AuthorityKey, &l.B.TimeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return Line{}, fmt.Errorf("store: line %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Line{}, fmt.Errorf("store: line %q: %w", name, err)
	}
	return l, nil
}

// Lines lists every line, by name.
func (s *Store) Lines(ctx context.Context) ([]Line, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name FROM lines ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: lines: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: lines: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lines: %w", err)
	}
	out := make([]Line, 0, len(names))
	for _, n := range names {
		l, err := s.Line(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// EnrolToken is what a demo enrolment link grants: one credential.
type EnrolToken struct {
	Line, Side, Name, Call string
	Roles                  []string
	Expires                time.Time
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// AddEnrolToken records a token (only its hash is stored).
func (s *Store) AddEnrolToken(ctx context.Context, token string, t EnrolToken) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO enrol_tokens(token_hash, line, side, name, roles, call, expires_at) VALUES(?, ?, ?, ?, ?, ?, ?)`,
		tokenHash(token), t.Line, t.Side, t.Name, strings.Join(t.Roles, ","), t.Call, t.Expires.Unix())
	if err != nil {
		return fmt.Errorf("store: enrol token: %w", err)
	}
	return nil
}

// UseEnrolToken marks a token used and returns its grant, in one
// transaction; a token works once. use decides whether it is used: if use
// returns an error, the token stays unused and the error is returned.
func (s *Store) UseEnrolToken(ctx context.Context, token string, use func(EnrolToken) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: enrol token: %w", err)
	}
	defer tx.Rollback()
	var t EnrolToken
	var roles string
	var expires int64
	var used sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT line, side, name, roles, call, expires_at, used_at FROM enrol_tokens WHERE token_hash = ?`, tokenHash(token)).
		Scan(&t.Line, &t.Side, &t.Name, &roles, &t.Call, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: enrol token: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: enrol token: %w", err)
	}
	t.Roles = strings.Split(roles, ",")
	t.Expires = time.Unix(expires, 0)
	if used.Valid {
		return fmt.Errorf("store: %w", ErrUsed)
	}
	if !s.now().Before(t.Expires) {
		return fmt.Errorf("store: %w", ErrExpired)
	}
	if err := use(t); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE enrol_tokens SET used_at = ? WHERE token_hash = ?`, s.now().Unix(), tokenHash(token)); err != nil {
		return fmt.Errorf("store: enrol token: %w", err)
	}
	return tx.Commit()
}

// EnrolmentRequest is a device's request waiting for (or approved by) an officer.
type EnrolmentRequest struct {
	ID, Line, Side string
	Request        string // JSON {"body","sig"}
	Created        time.Time
	Credential     string // JSON, empty while pending
	Approved       time.Time
	Rejected       time.Time
}

// Pending reports whether the request waits for an officer still.
func (r EnrolmentRequest) Pending() bool { return r.Approved.IsZero() && r.Rejected.IsZero() }

// MaxPendingRequests bounds the pending requests per line and side, so that
// anonymous submissions cannot fill the disk.
const MaxPendingRequests = 100

// ErrTooMany: the pending-request bound was reached.
var ErrTooMany = errors.New("too many pending enrolment requests")

// AddEnrolmentRequest records a pending request.
func (s *Store) AddEnrolmentRequest(ctx context.Context, r EnrolmentRequest) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: enrolment request: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM enrolment_requests WHERE line = ? AND side = ? AND approved_at IS NULL AND rejected_at IS NULL`, r.Line, r.Side).Scan(&n); err != nil {
		return fmt.Errorf("store: enrolment request: %w", err)
	}
	if n >= MaxPendingRequests {
		return fmt.Errorf("store: %w (%d for side %q)", ErrTooMany, n, r.Side)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO enrolment_requests(id, line, side, request, created_at) VALUES(?, ?, ?, ?, ?)`,
		r.ID, r.Line, r.Side, r.Request, s.now().Unix()); err != nil {
		return fmt.Errorf("store: enrolment request: %w", err)
	}
	return tx.Commit()
}

// EnrolmentRequest returns one request.
func (s *Store) EnrolmentRequest(ctx context.Context, id string) (EnrolmentRequest, error) {
	rows, err := s.queryRequests(ctx, `WHERE id = ?`, id)
	if err != nil {
		return EnrolmentRequest{}, err
	}
	if len(rows) == 0 {
		return EnrolmentRequest{}, fmt.Errorf("store: enrolment request %q: %w", id, ErrNotFound)
	}
	return rows[0], nil
}

// PendingRequests lists the requests of a line's side that wait for an officer.
func (s *Store) PendingRequests(ctx context.Context, line, side string) ([]EnrolmentRequest, error) {
	return s.queryRequests(ctx, `WHERE line = ? AND side = ? AND approved_at IS NULL AND rejected_at IS NULL ORDER BY created_at, id`, line, side)
}

// RejectRequest marks a pending request rejected.
func (s *Store) RejectRequest(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE enrolment_requests SET rejected_at = ? WHERE id = ? AND approved_at IS NULL AND rejected_at IS NULL`, s.now().Unix(), id)
	if err != nil {
		return fmt.Errorf("store: reject %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("store: reject %q: %w (or no longer pending)", id, ErrNotFound)
	}
	return nil
}

// DeleteExpiredRequests deletes the requests made before cutoff that no
// officer approved (pending or rejected), and returns how many.
func (s *Store) DeleteExpiredRequests(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM enrolment_requests WHERE created_at < ? AND approved_at IS NULL`, cutoff.Unix())
	if err != nil {
		return 0, fmt.Errorf("store: expire requests: %w", err)
	}
	return res.RowsAffected()
}

// ApproveRequest stores the credential for a pending request.
func (s *Store) ApproveRequest(ctx context.Context, id, credential string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE enrolment_requests SET credential = ?, approved_at = ? WHERE id = ? AND approved_at IS NULL AND rejected_at IS NULL`, credential, s.now().Unix(), id)
	if err != nil {
		return fmt.Errorf("store: approve %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("store: approve %q: %w (or already approved)", id, ErrNotFound)
	}
	return nil
}

func (s *Store) queryRequests(ctx context.Context, where string, args ...any) ([]EnrolmentRequest, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, line, side, request, created_at, credential, approved_at, rejected_at FROM enrolment_requests `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: enrolment requests: %w", err)
	}
	defer rows.Close()
	var out []EnrolmentRequest
	for rows.Next() {
		var r EnrolmentRequest
		var created int64
		var cred sql.NullString
		var approved, rejected sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Line, &r.Side, &r.Request, &created, &cred, &approved, &rejected); err != nil {
			return nil, fmt.Errorf("store: enrolment requests: %w", err)
		}
		r.Created = time.Unix(created, 0)
		r.Credential = cred.String
		if approved.Valid {
			r.Approved = time.Unix(approved.Int64, 0)
		}
		if rejected.Valid {
			r.Rejected = time.Unix(rejected.Int64, 0)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
