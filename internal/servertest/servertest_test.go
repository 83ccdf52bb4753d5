package servertest_test

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// TestStart: a server on loopback with the demo line, devices enrolled on
// either side with the roles asked for, Close once however often called.
func TestStart(t *testing.T) {
	srv := servertest.Start(t, server.Config{}, nil)
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Fatalf("server at %s, want loopback", srv.URL())
	}
	res, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %s", res.Status)
	}
	dev := srv.Device(t, demo.West, "Wes", role.Adviser)
	id, err := trust.VerifyCredential(*dev.Credential, dev.Pins, time.Now())
	if err != nil || id.Side != demo.West || len(id.Roles) != 1 || id.Roles[0] != role.Adviser {
		t.Fatalf("enrolled %+v, %v", id, err)
	}
	path := srv.DeviceFile(t, demo.East, "East Principal")
	if loaded, err := trust.LoadDevice(path); err != nil || loaded.Credential == nil || !strings.HasSuffix(path, "East-Principal.device") {
		t.Fatalf("device file %s: %v", path, err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil { // and again, as the cleanup will
		t.Fatal(err)
	}
	if _, err := http.Get(srv.URL() + "/healthz"); err == nil {
		t.Fatal("the server still answers after Close")
	}
}

// recorder is a testing.TB whose Fatalf records the failure and ends the
// goroutine, as the real one does.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls Eventually on r in its own goroutine and returns once it has
// returned or failed.
func (r *recorder) run(f func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
}

// TestEventually, on synctest's clock: both shapes of condition; a
// condition that holds later is waited for; one that never holds fails
// after Patience with its last account of what it saw.
func TestEventually(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		r := &recorder{TB: t}
		r.run(func(tb testing.TB) {
			servertest.Eventually(tb, "three calls", func() error {
				if calls++; calls < 3 {
					return fmt.Errorf("%d calls", calls)
				}
				return nil
			})
		})
		if r.failed != "" || calls != 3 {
			t.Fatalf("failed %q after %d calls", r.failed, calls)
		}
		r.run(func(tb testing.TB) {
			servertest.Eventually(tb, "bool form", func() (bool, string) { return time.Since(start) > time.Second, "early" })
		})
		if r.failed != "" {
			t.Fatalf("bool form failed: %s", r.failed)
		}

		start = time.Now()
		r.run(func(tb testing.TB) {
			servertest.Eventually(tb, "never", func() error { return errors.New("still no") })
		})
		if !strings.Contains(r.failed, "never: not within") || !strings.HasSuffix(r.failed, "last seen: still no") {
			t.Fatalf("failure %q", r.failed)
		}
		if d := time.Since(start); d < servertest.Patience {
			t.Fatalf("gave up after %v, before Patience", d)
		}
		r.failed = ""
		r.run(func(tb testing.TB) {
			servertest.Eventually(tb, "never", func() (bool, string) { return false, "what it saw" })
		})
		if !strings.HasSuffix(r.failed, "last seen: what it saw") {
			t.Fatalf("failure %q", r.failed)
		}
	})
}

// TestNoLeak: goroutines that end in time pass; one that does not fails,
// with the stacks.
func TestNoLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{TB: t}
		r.run(func(tb testing.TB) {
			before := runtime.NumGoroutine()
			go time.Sleep(time.Second)
			servertest.NoLeak(tb, before)
		})
		if r.failed != "" {
			t.Fatalf("a goroutine that ended: %s", r.failed)
		}
		stuck := make(chan struct{})
		r.run(func(tb testing.TB) {
			before := runtime.NumGoroutine()
			go func() { <-stuck }()
			servertest.NoLeak(tb, before)
		})
		close(stuck)
		if !strings.Contains(r.failed, "goroutines, ") || !strings.Contains(r.failed, "TestNoLeak") {
			t.Fatalf("a stuck goroutine: %q", r.failed)
		}
	})
}
