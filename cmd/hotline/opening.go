package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"hotline/internal/client"
	"hotline/internal/opening"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// bookedOpening runs the call's booked public opening from `hotline join`
// (internal/opening) when the device's roles may run the segment: asked
// "Open to the press now?", it opens it with --open-press, or on a
// terminal when the person answers y; and it closes it when the booked
// length has passed since the opening marker, whoever opened it. stop ends
// it.
func bookedOpening(ctx context.Context, a *client.Attendee, dev *trust.Device, server, devicePath, line, callName string,
	cfg client.Config, openPress bool, log *slog.Logger) (stop func()) {
	who, err := dev.Identity(time.Now())
	if err != nil || !role.AllowedAny(who.Roles, role.StartPublicSegment) && !role.AllowedAny(who.Roles, role.EndPublicSegment) {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		api, err := signIn(ctx, server, devicePath, line, cfg.TLS)
		if err != nil {
			log.Warn("booked public opening: no API session", "err", err)
			return
		}
		err = opening.Run(ctx, opening.Config{Client: a.Client, Device: dev, API: api, Line: line, Call: callName, Log: log,
			Confirm: func(booked time.Duration) bool { return confirmOpening(booked, openPress, promptIn, os.Stderr, log) },
			Changed: func(m protocol.Marker) { log.Info("segment", "segment", m.Segment, "seq", m.Seq) }})
		if err != nil {
			log.Warn("booked public opening", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}

// promptIn is where the prompt's answer is read (tests: not a terminal).
var promptIn = os.Stdin

// confirmOpening is the prompt "Open to the press now?": yes with
// --open-press, else asked on a terminal; without one, no.
func confirmOpening(booked time.Duration, openPress bool, in *os.File, out io.Writer, log *slog.Logger) bool {
	if openPress {
		log.Info("booked public opening: opening it (--open-press)", "booked", booked)
		return true
	}
	if fi, err := in.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		log.Info("booked public opening not opened (--open-press opens it)", "booked", booked)
		return false
	}
	fmt.Fprintf(out, "Open to the press now (booked: %v)? [y/N] ", booked)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	return strings.EqualFold(strings.TrimSpace(answer), "y")
}
