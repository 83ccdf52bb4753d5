package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/trust"
)

// e2eeLine is a server with the demo line provisioned, for the end-to-end
// encryption tests.
type e2eeLine struct {
	t   *testing.T
	srv *server.Server
	d   *demo.Demo
}

func startE2EELine(t *testing.T) *e2eeLine {
	t.Helper()
	dir := t.TempDir()
	d, err := demo.Provision(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: dir, DemoAuthorities: d.Authorities}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return &e2eeLine{t: t, srv: srv, d: d}
}

func (l *e2eeLine) device(side, name string, roles ...role.Role) *trust.Device {
	l.t.Helper()
	dev, err := l.d.EnrolDevice(side, name, roles...)
	if err != nil {
		l.t.Fatal(err)
	}
	return dev
}

// join enrols a fresh device and joins the demo line's call with it.
func (l *e2eeLine) join(call, side, name string, mod func(*client.Config)) *client.Client {
	l.t.Helper()
	return l.joinAs(call, side, name, nil, mod)
}

// joinAs is join with a device enrolled with these roles (nil: adviser).
func (l *e2eeLine) joinAs(call, side, name string, roles []role.Role, mod func(*client.Config)) *client.Client {
	l.t.Helper()
	cfg := client.Config{Server: l.srv.URL(), Line: demo.Line, Call: call, Device: l.device(side, name, roles...), Publish: true, Logger: testLogger(l.t)}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, err := client.Join(ctx, cfg)
	if err != nil {
		l.t.Fatalf("%s joins: %v", name, err)
	}
	l.t.Cleanup(func() { c.Close() })
	return c
}

// eventually polls cond until it holds (nil) or patience runs out.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// frameLog collects frames seen by a tap, safely across goroutines.
type frameLog struct {
	mu     sync.Mutex
	frames []tapped
}

type tapped struct {
	from, kind string
	data       []byte
	at         time.Time
}

func (f *frameLog) add(from, kind string, data []byte) {
	f.mu.Lock()
	f.frames = append(f.frames, tapped{from, kind, append([]byte(nil), data...), time.Now()})
	f.mu.Unlock()
}

func (f *frameLog) snapshot() []tapped {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tapped(nil), f.frames...)
}
