package server_test

import (
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
	return startLineWith(t, server.Config{})
}

// startLineWith is startE2EELine with settings.
func startLineWith(t *testing.T, cfg server.Config) *e2eeLine {
	t.Helper()
	srv := startServer(t, cfg)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	d, _ := demoLines.Load(srv)
	return &e2eeLine{t: t, srv: srv, d: d.(*demo.Demo)}
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

// joinAs is join with a device enrolled with these roles (none: a
// principal, in the call at once).
func (l *e2eeLine) joinAs(call, side, name string, roles []role.Role, mod func(*client.Config)) *client.Client {
	l.t.Helper()
	return joinWith(l.t, l.srv, call, name, l.device(side, name, roles...), mod)
}

// eventually is waitUntil for a condition that explains itself with an error.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	waitUntil(t, what, func() (bool, string) {
		if err := cond(); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
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
