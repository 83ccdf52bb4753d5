package client

import (
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/e2ee"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// checkGoroutines fails the test if, once it is over (after every other
// cleanup), more goroutines run than before it started. Call it first.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		servertest.NoLeak(t, before)
	})
}

// testLogger logs to t.Log at Warn (Debug if HOTLINE_TEST_DEBUG is set) until
// the test ends; later lines, from goroutines finishing late, are dropped
// rather than making t.Log panic.
func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("HOTLINE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// testLine is the line the unit tests' devices are enrolled on.
const testLine = "demo"

// testAuthorities are the two sides' authorities of testLine, made once per
// test binary (key generation is not what these tests measure).
var testAuthorities = sync.OnceValues(func() ([2]*trust.Authority, error) {
	east, err := trust.NewAuthority("east")
	if err != nil {
		return [2]*trust.Authority{}, err
	}
	west, err := trust.NewAuthority("west")
	return [2]*trust.Authority{east, west}, err
})

// testDevice enrols a fresh device named name on testLine's east side.
func testDevice(t testing.TB, name string) *trust.Device {
	t.Helper()
	as, err := testAuthorities()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req, err := dev.Request(as[0].Side, name, []role.Role{role.Principal}, now)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := as[0].Sign(req, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dev.Credential = &cred
	dev.Pins = []trust.Pin{as[0].Pin(), as[1].Pin()}
	return dev
}

// wireCredential is a device's credential as the wire carries it.
func wireCredential(dev *trust.Device) protocol.Credential {
	return protocol.Credential{Body: dev.Credential.Body, Sig: dev.Credential.Sig}
}

// newKeyedClient is newClient with the key manager that Join would give it
// (unit tests drive a client without signalling).
func newKeyedClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := newClient(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := e2ee.New(e2ee.Config{Device: cfg.Device, Line: cfg.Line, Call: cfg.Call, Send: c.sendKey})
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	// The stay's first key comes with its participant id (the welcome's),
	// as in a real join; without it the client sends nothing.
	if err := keys.SetSelfID("a11ce"); err != nil {
		c.Close()
		t.Fatal(err)
	}
	c.keys = keys
	return c
}
