package trust

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrInsecureMode: a file holding a private key in clear is readable by
// others than its owner. Like ssh with an unprotected key file, we refuse
// it rather than use a key others may have copied.
var ErrInsecureMode = errors.New("file mode is wider than 0600")

// maxKeyFile bounds what we read of an authority or device file: the
// largest holds a credential (under 8 KiB) and two pins.
const maxKeyFile = 64 << 10

// CheckMode returns ErrInsecureMode when path is accessible to its group or
// to others (mode & 0o077 ≠ 0).
func CheckMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%s: %w (it is %#o; run chmod 600 %s)", path, ErrInsecureMode, m, path)
	}
	return nil
}

// readKeyFile reads a key file, bounded.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrMalformed, maxKeyFile)
	}
	return data, nil
}

// DecodeStrict decodes JSON strictly (key files, probe results): unknown
// fields and trailing data are errors, wrapping ErrMalformed.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	return nil
}

// writeFileAtomic writes data to path with mode 0600 so that a crash leaves
// either the old file or the new one, never a part (CONVENTIONS.md: temp
// file, fsync, rename). With noClobber it refuses to replace an existing
// file (the error wraps fs.ErrExist): the new file is hard-linked into
// place, which fails if the name exists, where a rename would overwrite.
func writeFileAtomic(path string, data []byte, noClobber bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp already makes the file 0600; say so in case that changes.
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if noClobber {
		err = os.Link(tmp, path)
		os.Remove(tmp)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists; refusing to overwrite it: %w", path, fs.ErrExist)
			}
			return err
		}
	} else if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// The new directory entry must be durable too.
	if d, derr := os.Open(dir); derr == nil {
		derr = d.Sync()
		d.Close()
		if derr != nil {
			return derr
		}
	}
	return nil
}
