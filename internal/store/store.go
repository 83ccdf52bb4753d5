// Package store is hotline's persistent state: one SQLite file in the data
// folder (modernc.org/sqlite, pure Go), schema changes applied as numbered
// migrations inside transactions.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database's name inside the data folder.
const FileName = "hotline.db"

// migrations are applied in order, each once; never edit a published one,
// append a new one.
var migrations = []string{
	// 1: attendance — who joined which live call, and when they left (the
	// attendance table since migration 4).
	`CREATE TABLE sessions (
		id          INTEGER PRIMARY KEY,
		call        TEXT NOT NULL,
		participant TEXT NOT NULL,
		name        TEXT NOT NULL,
		joined_at   INTEGER NOT NULL, -- unix milliseconds
		left_at     INTEGER           -- NULL while in the call
	);
	CREATE INDEX sessions_call ON sessions(call, joined_at);
	CREATE UNIQUE INDEX sessions_participant ON sessions(participant);`,

	// 2: trust — the two sides of each line with their authorities' public
	// keys (never a private key), demo enrolment tokens, and enrolment
	// requests waiting for an officer.
	`CREATE TABLE sides (
		name          TEXT PRIMARY KEY,
		authority_key BLOB NOT NULL UNIQUE,  -- Ed25519 public key, 32 bytes
		time_zone     TEXT NOT NULL DEFAULT 'UTC',
		created_at    INTEGER NOT NULL
	);
	CREATE TABLE lines (
		name       TEXT PRIMARY KEY,
		side_a     TEXT NOT NULL REFERENCES sides(name),
		side_b     TEXT NOT NULL REFERENCES sides(name),
		created_at INTEGER NOT NULL,
		CHECK (side_a <> side_b)
	);
	CREATE TABLE enrol_tokens (
		token_hash BLOB PRIMARY KEY,         -- SHA-256 of the token; the token itself is not kept
		line       TEXT NOT NULL REFERENCES lines(name),
		side       TEXT NOT NULL REFERENCES sides(name),
		name       TEXT NOT NULL,
		roles      TEXT NOT NULL,            -- comma-separated role names
		call       TEXT NOT NULL,
		expires_at INTEGER NOT NULL,         -- unix seconds
		used_at    INTEGER
	);
	CREATE TABLE enrolment_requests (
		id          TEXT PRIMARY KEY,
		line        TEXT NOT NULL REFERENCES lines(name),
		side        TEXT NOT NULL REFERENCES sides(name),
		request     TEXT NOT NULL,           -- JSON {"body","sig"}
		created_at  INTEGER NOT NULL,
		credential  TEXT,                    -- JSON {"body","sig"} once approved
		approved_at INTEGER
	);
	CREATE INDEX enrolment_requests_pending ON enrolment_requests(line, side, approved_at);`,

	// 3: the call workflow (calls.go) — calls requested on a line, the
	// people each side names on them in advance, and every transition of
	// their state machine. version counts the call's updates, for
	// optimistic locking: an update names the version it read.
	`CREATE TABLE calls (
		id               TEXT PRIMARY KEY,   -- a protocol call name, e.g. c-7kq2mrx4tp3a
		line             TEXT NOT NULL REFERENCES lines(name),
		kind             TEXT NOT NULL CHECK (kind IN ('video', 'phone')),
		initiating_side  TEXT NOT NULL REFERENCES sides(name),
		state            TEXT NOT NULL CHECK (state IN ('requested', 'accepted', 'declined', 'live', 'ended', 'cancelled')),
		scheduled_start  INTEGER NOT NULL,   -- unix milliseconds, UTC
		duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
		agenda           TEXT NOT NULL,      -- JSON array of strings
		actual_start     INTEGER,            -- unix milliseconds; NULL until live
		actual_end       INTEGER,            -- unix milliseconds; NULL until ended
		version          INTEGER NOT NULL CHECK (version > 0),
		created_at       INTEGER NOT NULL    -- unix milliseconds
	);
	CREATE INDEX calls_line ON calls(line, state, scheduled_start);
	CREATE TABLE call_participants (
		call     TEXT NOT NULL REFERENCES calls(id),
		side     TEXT NOT NULL REFERENCES sides(name),
		name     TEXT NOT NULL,
		roles    TEXT NOT NULL,              -- comma-separated role names
		position INTEGER NOT NULL,           -- order named, within the call
		PRIMARY KEY (call, side, name)
	);
	CREATE TABLE call_transitions (
		call       TEXT NOT NULL REFERENCES calls(id),
		seq        INTEGER NOT NULL,         -- 0 for the request, then 1, 2, …
		from_state TEXT NOT NULL,            -- '' for the request
		to_state   TEXT NOT NULL,
		event      TEXT NOT NULL,
		by_side    TEXT NOT NULL,
		by_name    TEXT NOT NULL,
		at         INTEGER NOT NULL,         -- unix milliseconds
		PRIMARY KEY (call, seq)
	);`,

	// 4: vocabulary (docs/ARCHITECTURE.md, "Names"): "session" is the
	// signalling session and the API session; the rows of who was in which
	// live call, from when to when, are its attendance.
	`ALTER TABLE sessions RENAME TO attendance;
	DROP INDEX sessions_call;
	DROP INDEX sessions_participant;
	CREATE INDEX attendance_call ON attendance(call, joined_at);
	CREATE UNIQUE INDEX attendance_participant ON attendance(participant);`,
	// 5: an officer may reject an enrolment request (it then stays, marked,
	// until it expires, so that the requester learns of it).
	`ALTER TABLE enrolment_requests ADD COLUMN rejected_at INTEGER;`,
	// 6: each side's current signed revocation list per line
	// (docs/PROTOCOL.md, "Revocation"): the bytes as signed, and the
	// serial, which only goes up.
	`CREATE TABLE revocations (
		line      TEXT NOT NULL REFERENCES lines(name),
		side      TEXT NOT NULL REFERENCES sides(name),
		serial    INTEGER NOT NULL,
		body      TEXT NOT NULL,
		sig       TEXT NOT NULL,
		stored_at INTEGER NOT NULL,           -- unix seconds
		PRIMARY KEY (line, side)
	);`,
	// 7: readiness probes' results (issue 14), one per side of a test call,
	// each the probe's signed report as it came (internal/probe): the
	// columns beside it are copies for queries, the report is the record.
	`CREATE TABLE probe_results (
		id       INTEGER PRIMARY KEY,
		line     TEXT NOT NULL REFERENCES lines(name),
		run      TEXT NOT NULL,
		side     TEXT NOT NULL,
		device   TEXT NOT NULL,
		started  INTEGER NOT NULL,     -- unix milliseconds: the probe's join began
		received INTEGER NOT NULL,     -- unix milliseconds: the server stored it
		ok       INTEGER NOT NULL CHECK (ok IN (0, 1)),
		report   TEXT NOT NULL,
		UNIQUE (line, run, side)
	);
	CREATE INDEX probe_results_line ON probe_results(line, started);`,
	// 8: a call may be booked with a public opening for the press
	// (docs/PROTOCOL.md, "Segments"), its length in minutes; 0: none.
	`ALTER TABLE calls ADD COLUMN public_opening_minutes INTEGER NOT NULL DEFAULT 0 CHECK (public_opening_minutes >= 0);`,
	// 9: a call's interpretation languages (a JSON array of BCP 47 tags).
	`ALTER TABLE calls ADD COLUMN languages TEXT NOT NULL DEFAULT '[]';`,
	// 10: the call record (record.go): each line's hash-chained entries,
	// each stored as its canonical encoding with its hash; and the sides'
	// signed readouts (readouts.go). Rows are only ever inserted.
	`CREATE TABLE record_entries (
		line  TEXT NOT NULL,
		seq   INTEGER NOT NULL,              -- 1, 2, … within the line
		entry TEXT NOT NULL,                 -- canonical JSON (internal/audit)
		hash  BLOB NOT NULL,                 -- SHA-256("hotline-record-v1\0" || entry)
		PRIMARY KEY (line, seq)
	);
	CREATE TABLE readouts (
		id        TEXT PRIMARY KEY,          -- audit.ReadoutID
		line      TEXT NOT NULL REFERENCES lines(name),
		call      TEXT NOT NULL REFERENCES calls(id),
		side      TEXT NOT NULL,
		name      TEXT NOT NULL,             -- the signer's
		published INTEGER NOT NULL,          -- unix seconds, as signed
		corrects  TEXT REFERENCES readouts(id),
		signed    TEXT NOT NULL,             -- JSON of the signed readout, as received
		seq       INTEGER NOT NULL           -- its entry in the line's record
	);
	CREATE INDEX readouts_line ON readouts(line, seq);`,
	// 11: the languages a named interpreter may serve, comma-separated
	// (docs/API.md, "interprets"); '': any of the call's languages.
	`ALTER TABLE call_participants ADD COLUMN interprets TEXT NOT NULL DEFAULT '';`,
}

// Store is an open database.
type Store struct {
	db *sql.DB // the one writer; also reads that precede a write
	// read serves the reads that write nothing (a join's look-ups of its
	// line and call, the schedule's pages): under WAL they see every
	// committed transaction and wait neither for a write nor for its
	// fsync. A join that queued behind twenty attendance commits on the
	// writer ran past the gate's deadline on a loaded machine.
	read *sql.DB
	log  *slog.Logger
	now  func() time.Time
}

// readers bounds the read connections.
const readers = 4

// Open opens (creating if needed) the database in dir and migrates it.
func Open(dir string, log *slog.Logger) (*Store, error) {
	return open(dir, log, len(migrations))
}

// open is Open migrating up to schema version (tests open a database at an
// older schema to check the migrations that follow).
func open(dir string, log *slog.Logger, version int) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	path, err := prepareFiles(dir)
	if err != nil {
		return nil, err
	}
	// WAL lets readers proceed during writes; busy_timeout waits out a
	// concurrent writer instead of failing; foreign keys are off by default in SQLite.
	// synchronous(FULL): a commit returns only once the WAL is fsynced, so
	// a committed transaction survives a crash of the machine, not only of
	// the process (with NORMAL, a kill -9 loses nothing but a power cut may
	// roll back the last commits: https://www.sqlite.org/pragma.html#pragma_synchronous).
	// Commits are few (bookings, enrolments, attendance), so the fsync each
	// costs is cheap insurance for an accepted booking or an approved device.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	s := &Store{db: db, log: log, now: time.Now}
	if err := s.migrate(context.Background(), version); err != nil {
		db.Close()
		return nil, err
	}
	// The WAL and its index exist now; SQLite gives them the database's
	// mode, but files left by an older binary may be wider.
	if err := tightenFiles(path); err != nil {
		db.Close()
		return nil, err
	}
	// The readers refuse to write (query_only), whatever a caller asks.
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(readers)
	s.read = read
	return s, nil
}

// ErrNewerSchema: the database was written by a newer hotline.
var ErrNewerSchema = errors.New("store: database schema is newer than this binary")

func (s *Store) migrate(ctx context.Context, version int) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("%w (database %d, binary %d)", ErrNewerSchema, v, len(migrations))
	}
	for i := v; i < version; i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES(?, ?)`, i+1, s.now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %d: %w", i+1, err)
		}
	}
	return nil
}

// SchemaVersion is the number of migrations applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.read.Close(), s.db.Close()) }
