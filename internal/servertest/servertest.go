// Package servertest starts hotline servers for tests, as net/http/httptest
// does for handlers: the demo line (internal/demo, what `hotline demo`
// runs) on a loopback address with a fresh data directory, stopped when
// the test ends, with devices enrolled on it. Eventually is the one way
// tests wait for something to become true.
package servertest

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/trust"
)

// Server is a running server with the demo line provisioned.
type Server struct {
	*server.Server
	Demo *demo.Demo

	once     sync.Once
	closeErr error
}

// Start runs a server for t's lifetime. cfg.Listen defaults to
// 127.0.0.1:0 (tests talk to loopback only) and cfg.DataDir to a fresh
// temporary directory. log nil discards the server's log, unless
// HOTLINE_TEST_LOG is set: then it goes to stderr at debug level.
func Start(t testing.TB, cfg server.Config, log *slog.Logger) *Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if log == nil {
		log = Logger()
	}
	srv, d, err := server.StartDemo(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	s := &Server{Server: srv, Demo: d}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return s
}

// Close stops the server. It may be called before the test ends (to test
// shutdown); later calls, the cleanup's included, return the first result.
func (s *Server) Close() error {
	s.once.Do(func() { s.closeErr = s.Server.Close() })
	return s.closeErr
}

// Device enrols a fresh device named name on side of the demo line, with
// roles (none: a principal).
func (s *Server) Device(t testing.TB, side, name string, roles ...role.Role) *trust.Device {
	t.Helper()
	dev, err := s.Demo.EnrolDevice(side, name, roles...)
	if err != nil {
		t.Fatalf("enrol %s on %s: %v", name, side, err)
	}
	return dev
}

// DeviceFile is Device saved as a device file in a fresh directory, as
// `hotline device install` would; it returns the file's path.
func (s *Server) DeviceFile(t testing.TB, side, name string, roles ...role.Role) string {
	t.Helper()
	return SaveDevice(t, s.Device(t, side, name, roles...), name)
}

// SaveDevice saves dev as a device file named after name in a fresh
// directory and returns its path.
func SaveDevice(t testing.TB, dev *trust.Device, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), strings.ReplaceAll(name, " ", "-")+".device")
	if err := dev.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Logger is the log of test servers and endpoints: discarded, unless
// HOTLINE_TEST_LOG is set, then everything to stderr.
func Logger() *slog.Logger {
	if os.Getenv("HOTLINE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// NoLeak fails the test unless the goroutines started since before was
// counted (runtime.NumGoroutine) end within Patience; the failure lists
// every goroutine's stack.
func NoLeak(t testing.TB, before int) {
	t.Helper()
	Eventually(t, "goroutines of the test ended", func() error {
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			return fmt.Errorf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		return nil
	})
}

// Patience bounds every wait of Eventually. It only stops a broken run from
// hanging (a browser on a loaded machine may take tens of seconds); nothing
// asserts on how long things take.
const Patience = 90 * time.Second

// Condition is what Eventually polls: a function that returns nil once the
// condition holds and otherwise an error saying what it saw, or one that
// returns whether it holds and what it saw.
type Condition interface {
	func() error | func() (bool, string)
}

// Eventually polls cond until it holds, and fails the test with cond's
// last account of what it saw if it does not within Patience. It polls
// quickly at first (10 ms), then backs off to every 250 ms, which keeps
// waits short without flooding a browser with queries. cond runs on the
// test's goroutine and may itself fail the test.
func Eventually[C Condition](t testing.TB, what string, cond C) {
	t.Helper()
	var check func() error
	switch c := any(cond).(type) {
	case func() error:
		check = c
	case func() (bool, string):
		check = func() error {
			if ok, why := c(); !ok {
				return errors.New(why)
			}
			return nil
		}
	}
	deadline := time.Now().Add(Patience)
	every := 10 * time.Millisecond
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last seen: %v", what, Patience, err)
		}
		time.Sleep(every)
		every = min(2*every, 250*time.Millisecond)
	}
}

// Buffer is a bytes.Buffer that one goroutine writes (a logger, a child
// process's copier) while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
