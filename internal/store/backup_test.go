package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFileModes: the folder is 0700 even when it existed wider, the
// database and its WAL files 0600 even when an older binary left them wider.
func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// As an older binary left them: world-readable.
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Joined(context.Background(), "c", "p", "Alice", time.Now())
	s.Close()
	for _, f := range []string{dir, filepath.Join(dir, FileName)} {
		if err := os.Chmod(f, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Joined(context.Background(), "c", "q", "Bob", time.Now()) // the WAL is written
	check := func(path string, want fs.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
		}
	}
	check(dir, 0o700)
	check(filepath.Join(dir, FileName), 0o600)
	for _, sc := range []string{"-wal", "-shm"} {
		check(filepath.Join(dir, FileName+sc), 0o600)
	}

	// A fresh folder under a permissive umask gets the same.
	fresh := filepath.Join(t.TempDir(), "fresh")
	s2, err := Open(fresh, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2.Joined(context.Background(), "c", "p", "Alice", time.Now())
	defer s2.Close()
	check(fresh, 0o700)
	for _, sc := range []string{"", "-wal", "-shm"} {
		check(filepath.Join(fresh, FileName+sc), 0o600)
	}
}

// TestBackupWhileWriting: a backup taken while writers commit is a sound
// database with a prefix of their rows, and restores into a new folder
// that opens with that data.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var written atomic.Int64
	stop, started := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.Joined(context.Background(), "busy", fmt.Sprint("p", i), "Writer", time.Now())
			if written.Add(1) == 50 {
				close(started)
			}
		}
	})
	<-started
	out := filepath.Join(t.TempDir(), "backup.db")
	v, err := Backup(ctx, dir, out)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) {
		t.Errorf("backup at version %d, want %d", v, len(migrations))
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if _, err := Backup(ctx, dir, out); !errors.Is(err, fs.ErrExist) {
		t.Errorf("backup over an existing file: %v, want ErrExist", err)
	}
	if _, err := Backup(ctx, t.TempDir(), filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Error("backup of a folder without a database succeeded")
	}

	// Restore into a fresh folder; the copy holds the rows written before
	// the backup began (at least 50) and no more than were ever written.
	dst := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(ctx, dst, out, false); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Attendance(ctx, "busy", 1<<30)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) < 50 || int64(len(h)) > written.Load() {
		t.Errorf("restored %d rows; %d were written, at least 50 before the backup", len(h), written.Load())
	}
}

// TestRestoreRefusals: a file that is not a hotline database, a folder a
// running server holds (even with force), and a folder with data (unless
// force) are refused, and the folder's database is left as it was.
func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	s, err := Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Joined(context.Background(), "old", "p", "Backed up", time.Now())
	s.Close()
	backup := filepath.Join(t.TempDir(), "b.db")
	if _, err := Backup(ctx, src, backup); err != nil {
		t.Fatal(err)
	}

	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("SQLite format 3\x00 but not really"), 0o600)
	if _, err := Restore(ctx, t.TempDir(), junk, true); !errors.Is(err, ErrNotHotline) {
		t.Errorf("restore from junk: %v, want ErrNotHotline", err)
	}
	other := filepath.Join(t.TempDir(), "other.db") // a SQLite file, not ours
	db, err := sql.Open("sqlite", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes(x TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Restore(ctx, t.TempDir(), other, true); !errors.Is(err, ErrNotHotline) {
		t.Errorf("restore from another SQLite file: %v, want ErrNotHotline", err)
	}
	if _, err := Restore(ctx, t.TempDir(), filepath.Join(t.TempDir(), "missing.db"), true); err == nil {
		t.Error("restore from a missing file succeeded")
	}

	dst := t.TempDir()
	live, err := Open(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	live.Joined(context.Background(), "live", "q", "Present", time.Now())
	unlock, err := Lock(dst) // as a running server holds it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, dst, backup, true); !errors.Is(err, ErrInUse) {
		t.Errorf("restore into a held folder: %v, want ErrInUse", err)
	}
	if _, err := Lock(dst); !errors.Is(err, ErrInUse) {
		t.Errorf("second lock: %v, want ErrInUse", err)
	}
	unlock()
	live.Close()
	if _, err := Restore(ctx, dst, backup, false); !errors.Is(err, ErrHasData) {
		t.Errorf("restore over data without force: %v, want ErrHasData", err)
	}
	r, _ := Open(dst, nil)
	if h, _ := r.Attendance(ctx, "live", 10); len(h) != 1 {
		t.Errorf("refused restores changed the data: %v", h)
	}
	r.Close()
	if _, err := Restore(ctx, dst, backup, true); err != nil {
		t.Fatal(err)
	}
	r, _ = Open(dst, nil)
	defer r.Close()
	if h, _ := r.Attendance(ctx, "live", 10); len(h) != 0 {
		t.Errorf("forced restore kept the old data: %v", h)
	}
	if h, _ := r.Attendance(ctx, "old", 10); len(h) != 1 {
		t.Errorf("forced restore lacks the backup's data: %v", h)
	}
}
