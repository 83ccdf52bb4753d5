package server_test

import (
	"sync"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// e2eeLine is a server with the demo line provisioned, for the end-to-end
// encryption tests.
type e2eeLine struct {
	t   *testing.T
	srv *servertest.Server
}

func startE2EELine(t *testing.T) *e2eeLine {
	t.Helper()
	return startLineWith(t, server.Config{})
}

// startLineWith is startE2EELine with settings.
func startLineWith(t *testing.T, cfg server.Config) *e2eeLine {
	t.Helper()
	tier.Integration(t)
	return &e2eeLine{t: t, srv: servertest.Start(t, cfg, servertest.Logger())}
}

func (l *e2eeLine) device(side, name string, roles ...role.Role) *trust.Device {
	l.t.Helper()
	return l.srv.Device(l.t, side, name, roles...)
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
