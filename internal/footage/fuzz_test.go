package footage_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"hotline/internal/footage"
)

// FuzzVerify: any bytes as a manifest (with any signature line) are
// refused with ErrMismatch or another clear error, never a panic; nothing
// unsigned verifies.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"v":1,"line":"demo","call":"c","start":1,"end":2,"open":null,"cut":null,"recorder":{"body":"","sig":""},"files":[],"roster":[]}`), []byte("AAAA\n"))
	f.Add([]byte(`{"v":2}`), []byte(""))
	f.Add([]byte(`{"files":[{"path":"../x.webm"}]}`), []byte("x"))
	f.Fuzz(func(t *testing.T, manifest, sig []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, footage.ManifestFile), manifest, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, footage.SignatureFile), sig, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := footage.Verify(dir, nil)
		if err == nil {
			t.Fatal("a manifest verified without pins")
		}
		if !errors.Is(err, footage.ErrMismatch) {
			t.Fatalf("not a mismatch: %v", err)
		}
	})
}
