package topology

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	path string
	err  string
}

// Binary builds cmd/hotline once per test process and returns its path, so
// that a site can run the real server as a child process (a kill -9 kills a
// real server). It is built without the race detector, like a release.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		mod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil || len(bytes.TrimSpace(mod)) == 0 {
			build.err = "go env GOMOD: no module (" + errText(err) + ")"
			return
		}
		root := filepath.Dir(string(bytes.TrimSpace(mod)))
		// One fixed place per checkout, replaced atomically by each test process (Go's
		// build cache makes the rebuild cheap), so nothing piles up in /tmp.
		// Keyed by the module's folder: checkouts side by side don't share it.
		sum := sha256.Sum256([]byte(root))
		dir := filepath.Join(os.TempDir(), "hotline-topology-bin", hex.EncodeToString(sum[:6]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			build.err = err.Error()
			return
		}
		out := filepath.Join(dir, "hotline")
		tmp := out + ".tmp-" + strconv.Itoa(os.Getpid())
		cmd := exec.Command("go", "build", "-o", tmp, "./cmd/hotline")
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			build.err = "go build: " + err.Error() + ": " + strings.TrimSpace(string(msg))
			return
		}
		if err := os.Rename(tmp, out); err != nil {
			build.err = err.Error()
			return
		}
		build.path = out
	})
	if build.err != "" {
		t.Fatalf("topology: building hotline: %s", build.err)
	}
	return build.path
}

func errText(err error) string {
	if err == nil {
		return "empty"
	}
	return err.Error()
}
