package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of the data at rest (docs/THREAT_MODEL.md, "Data at rest"): the
// folder and the database are the server user's alone. The database holds no
// private key, but it does hold the line's people, its calls and their
// history, and enrolment requests.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// sidecars are the files SQLite keeps next to the database in WAL mode.
var sidecars = []string{"-wal", "-shm", "-journal"}

// prepareFiles makes the data folder (0700, tightened if it already
// existed wider) and the database file (0600, created empty if missing, so
// that SQLite, which gives the WAL and its index the database's mode, never
// makes a world-readable file). It returns the database's path.
func prepareFiles(dir string) (string, error) {
	if err := prepareDir(dir); err != nil {
		return "", err
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return path, tightenFiles(path)
}

// tightenFiles sets the database and its sidecar files that exist to 0600.
func tightenFiles(path string) error {
	for _, suffix := range append([]string{""}, sidecars...) {
		err := os.Chmod(path+suffix, FileMode)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

// prepareDir makes the data folder, or tightens it to 0700.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("store: data folder: %w", err)
	}
	if err := os.Chmod(dir, DirMode); err != nil {
		return fmt.Errorf("store: data folder: %w", err)
	}
	return nil
}
