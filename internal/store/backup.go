package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Errors of backup and restore.
var (
	ErrNotHotline = errors.New("store: not a hotline database")
	ErrHasData    = errors.New("store: the data folder already holds a database")
	ErrInUse      = errors.New("store: the data folder is in use by a running hotline")
)

// tablesOf are the tables a hotline database has by migration version
// (1-based); a file without them is not ours.
var tablesOf = [...][]string{
	1: {}, // "sessions", renamed "attendance" by 4
	2: {"sides", "lines", "enrol_tokens", "enrolment_requests"},
	3: {"calls", "call_participants", "call_transitions"},
	4: {"attendance"},
	5: {},
}

// Backup writes a consistent copy of the database in dir to out, safe while
// a server is writing to it: SQLite's VACUUM INTO reads the database inside
// one read transaction (WAL mode lets the server's writes go on meanwhile)
// and writes a compact, self-contained file. out must not exist; it is
// written as a temporary file beside it (mode 0600), synced, then renamed.
// It returns the copy's migration version.
func Backup(ctx context.Context, dir, out string) (int, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	if _, err := os.Lstat(out); err == nil {
		return 0, fmt.Errorf("store: backup: %s: %w", out, fs.ErrExist)
	}
	// mode=rw: never create a database where there was none, and no
	// migration either: a backup changes nothing.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := checkDB(ctx, db); err != nil {
		return 0, fmt.Errorf("store: backup of %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after the rename, there is nothing to remove
	// CreateTemp makes the file 0600 and empty, which VACUUM INTO accepts.
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	v, err := Verify(ctx, tmpName)
	if err != nil {
		return 0, fmt.Errorf("store: backup: the copy: %w", err)
	}
	if err := syncFile(tmpName); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(tmpName, out); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	return v, syncDir(filepath.Dir(out))
}

// Verify checks that the file at path is a sound hotline database whose
// migration version this binary knows, and returns that version. It opens
// the file read-only.
func Verify(ctx context.Context, path string) (int, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%w: %s is not a regular file", ErrNotHotline, path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return checkDB(ctx, db)
}

// checkDB reads a database's migration version and checks its integrity and
// the tables that version must have.
func checkDB(ctx context.Context, db *sql.DB) (int, error) {
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&ok); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNotHotline, err)
	}
	if ok != "ok" {
		return 0, fmt.Errorf("%w: integrity check: %s", ErrNotHotline, ok)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("%w: no migration table (%v)", ErrNotHotline, err)
	}
	n := int(v.Int64)
	if n < 1 {
		return 0, fmt.Errorf("%w: no migration applied", ErrNotHotline)
	}
	if n > len(migrations) {
		return 0, fmt.Errorf("%w (database %d, binary %d)", ErrNewerSchema, n, len(migrations))
	}
	for i := 1; i <= n && i < len(tablesOf); i++ {
		for _, t := range tablesOf[i] {
			var name string
			err := db.QueryRowContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?`, t).Scan(&name)
			if err != nil {
				return 0, fmt.Errorf("%w: migration %d's table %s is missing", ErrNotHotline, i, t)
			}
		}
	}
	return n, nil
}

// Restore replaces the database in dir with the backup at from. It refuses
// when a running server holds dir (whatever force says: the server would
// go on writing into a file that is gone), and when dir already holds a
// database unless force. The backup is verified first; the copy is written
// beside the database (0600), synced and renamed over it, and the old WAL
// and its index are removed, since SQLite would otherwise replay them into
// the restored file. It returns the restored migration version.
func Restore(ctx context.Context, dir, from string, force bool) (int, error) {
	v, err := Verify(ctx, from)
	if err != nil {
		return 0, fmt.Errorf("store: restore from %s: %w", from, err)
	}
	if err := prepareDir(dir); err != nil {
		return 0, err
	}
	unlock, err := Lock(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	path := filepath.Join(dir, FileName)
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 && !force {
		return 0, fmt.Errorf("%w (%s, %d bytes): give --force to replace it", ErrHasData, path, fi.Size())
	}
	src, err := os.Open(from)
	if err != nil {
		return 0, fmt.Errorf("store: restore: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, "."+FileName+".restore-*")
	if err != nil {
		return 0, fmt.Errorf("store: restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("store: restore: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("store: restore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("store: restore: %w", err)
	}
	for _, suffix := range sidecars {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("store: restore: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("store: restore: %w", err)
	}
	return v, syncDir(dir)
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !strings.Contains(err.Error(), "invalid argument") {
		return err
	}
	return nil
}
