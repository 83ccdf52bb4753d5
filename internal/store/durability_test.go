package store

import (
	"context"
	"testing"
)

// TestDurabilityPragmas: the claim of docs/ARCHITECTURE.md ("a committed
// transaction survives a kill -9 and a power cut") rests on WAL with
// synchronous=FULL on every connection.
func TestDurabilityPragmas(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var mode string
	var sync int
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 { // 2 = FULL
		t.Errorf("journal_mode %q, synchronous %d; want wal and 2 (FULL)", mode, sync)
	}
}
