package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMigrateAndHistory(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	at := time.UnixMilli(1_700_000_000_000)
	for _, err := range []error{
		s.Joined(ctx, "x", "p1", "Alice", at),
		s.Joined(ctx, "x", "p2", "Bob", at.Add(time.Second)),
		s.Left(ctx, "p1", at.Add(time.Minute)),
		s.Left(ctx, "nobody", at),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	h, err := s.Attendance(ctx, "x", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Name != "Alice" || !h[0].Joined.Equal(at) || !h[0].Left.Equal(at.Add(time.Minute)) || !h[1].Left.IsZero() {
		t.Fatalf("history %+v", h)
	}
	s.Close()

	// Reopening applies nothing twice and keeps the data; a crash's open
	// sessions are closed at start-up.
	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.CloseOpenAttendance(ctx)
	if err != nil || n != 1 {
		t.Fatalf("closed %d open stays (%v), want 1", n, err)
	}
	h, _ = s.Attendance(ctx, "x", 10)
	if len(h) != 2 || h[1].Left.IsZero() {
		t.Fatalf("history after reopen %+v", h)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO schema_migrations(version, applied_at) VALUES(999, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(dir, nil); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("opening a newer schema: %v, want ErrNewerSchema", err)
	}
}

// TestAttendanceMigration: a database of schema 3 keeps its call history
// when the sessions table becomes the attendance table.
func TestAttendanceMigration(t *testing.T) {
	dir := t.TempDir()
	// A database at schema 3, with one stay recorded the old way; every
	// migration after it then runs on it, whatever their number.
	s, err := open(dir, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO sessions(call, participant, name, joined_at, left_at) VALUES('demo/x', 'p1', 'Alice', 1000, 2000)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != len(migrations) {
		t.Fatalf("schema %d after reopening (%v), want %d", v, err, len(migrations))
	}
	h, err := s.Attendance(context.Background(), "demo/x", 10)
	if err != nil || len(h) != 1 || h[0].Name != "Alice" || h[0].Left.UnixMilli() != 2000 {
		t.Fatalf("attendance after the migration: %+v %v", h, err)
	}
	if err := s.Joined(context.Background(), "demo/x", "p1", "Alice again", time.Now()); err == nil {
		t.Fatal("the unique participant index did not survive the migration")
	}
}
