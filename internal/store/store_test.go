package store

import (
	"context"
	"errors"
	"testing"
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
	s.MemberJoined("x", "p1", "Alice")
	s.MemberJoined("x", "p2", "Bob")
	s.MemberLeft("x", "p1")
	h, err := s.History(ctx, "x", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Name != "Alice" || h[0].Left.IsZero() || !h[1].Left.IsZero() {
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
	n, err := s.CloseOpenSessions(ctx)
	if err != nil || n != 1 {
		t.Fatalf("closed %d open sessions (%v), want 1", n, err)
	}
	h, _ = s.History(ctx, "x", 10)
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
