package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/internal/demo"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/store"
	"hotline/internal/tier"
)

// TestBackupRestoreWhileServing: `hotline backup` copies the database of a
// running server while it writes; `hotline restore` refuses the folder that
// server holds and a folder with data (without --force), puts the copy in a
// fresh folder, and a server started there has the line and the history.
func TestBackupRestoreWhileServing(t *testing.T) {
	tier.Integration(t)
	ctx := context.Background()
	dir := t.TempDir()
	srv := servertest.Start(t, server.Config{DataDir: dir}, nil)

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
			srv.Store().Joined(context.Background(), "demo/busy", fmt.Sprint("p", i), "Writer", time.Now())
			if written.Add(1) == 100 {
				close(started)
			}
		}
	})
	<-started
	out := filepath.Join(t.TempDir(), "hotline.backup")
	stdout, _, err := runCmd("backup", "--data", dir, "--out", out)
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(stdout, "backed up") {
		t.Fatalf("backup: %v %q", err, stdout)
	}
	if _, _, err := runCmd("backup", "--data", dir, "--out", out); err == nil {
		t.Error("backup overwrote an existing file")
	}

	// The running server's folder is refused, even with --force.
	if _, _, err := runCmd("restore", "--data", dir, "--from", out, "--force"); !errors.Is(err, store.ErrInUse) {
		t.Errorf("restore into a served folder: %v, want ErrInUse", err)
	}
	if _, _, err := runCmd("restore", "--data", dir); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("restore without --from: %v", err)
	}

	dst := filepath.Join(t.TempDir(), "restored")
	if stdout, _, err := runCmd("restore", "--data", dst, "--from", out); err != nil || !strings.Contains(stdout, "restored") {
		t.Fatalf("restore: %v %q", err, stdout)
	}
	if _, _, err := runCmd("restore", "--data", dst, "--from", out); !errors.Is(err, store.ErrHasData) {
		t.Errorf("second restore without --force: %v, want ErrHasData", err)
	}
	if _, _, err := runCmd("restore", "--data", dst, "--from", out, "--force"); err != nil {
		t.Errorf("restore --force: %v", err)
	}

	restored, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dst}, servertest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if _, err := restored.Store().Line(ctx, demo.Line); err != nil {
		t.Errorf("the restored server lacks the demo line: %v", err)
	}
	h, err := restored.Store().Attendance(ctx, "demo/busy", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) < 100 || int64(len(h)) > written.Load() {
		t.Errorf("restored %d history rows; %d were written, 100 before the backup began", len(h), written.Load())
	}
}
