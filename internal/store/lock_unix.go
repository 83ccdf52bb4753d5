//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockName is the lock file a running server holds in its data folder.
const LockName = "hotline.lock"

// Lock takes the data folder for this process: a running server holds it
// for its whole life, and `hotline restore` while it replaces the
// database, so neither can pull the file from under the other. It is an
// advisory flock(2) on dir/hotline.lock, released by unlock or when the
// process ends (a crash leaves nothing to clean up). A folder another
// process holds gives ErrInUse.
func Lock(dir string) (unlock func(), err error) {
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrInUse, dir)
		}
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	return func() { f.Close() }, nil
}
