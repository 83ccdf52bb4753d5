package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"hotline/internal/booking"
	"hotline/internal/call"
	"hotline/internal/metrics"
	"hotline/internal/schedule"
	"hotline/internal/store"
)

// lifecycle keeps what outlives a live call, from the events the call
// registry emits (docs/ARCHITECTURE.md, "The live call and the booked
// call"): the attendance rows, the booked call's state and the call
// metrics. It runs in one goroutine of its own, so that a slow disk delays
// the records, never the calls: the registry hands it events through a
// bounded queue and never waits for it.
//
//   - joined, left: an attendance row is opened, closed;
//   - joined or moved into "in": the first member in a booked call that is
//     accepted starts it (it goes live); nothing before that, so that a
//     join the call refuses, or a member waiting in the lobby, leaves the
//     booking as it was;
//   - closed: the booked call ends, with its real duration. A live call
//     closes when it is ended (End call anywhere: the booking is already
//     ended, and ending it again changes nothing) or when it has been
//     empty for the registry's grace. A server shutdown closes nothing: a
//     booked call live when the server stops is resumed when it starts
//     again (resumeLive).
type lifecycle struct {
	sub     *call.Subscription
	store   *store.Store
	booking *booking.Service
	metrics *metrics.Metrics
	log     *slog.Logger
	// started: live calls whose booked call this lifecycle saw live.
	started map[string]bool
	done    chan struct{}
}

// recordTimeout bounds one database write for one event.
const recordTimeout = 10 * time.Second

func startLifecycle(reg *call.Registry, st *store.Store, book *booking.Service, m *metrics.Metrics, log *slog.Logger) *lifecycle {
	l := &lifecycle{sub: reg.Subscribe(), store: st, booking: book, metrics: m, log: log,
		started: make(map[string]bool), done: make(chan struct{})}
	go l.run()
	return l
}

// close stops the lifecycle once every event delivered so far is handled.
func (l *lifecycle) close() {
	l.sub.Close()
	<-l.done
}

func (l *lifecycle) run() {
	defer close(l.done)
	for {
		ev, err := l.sub.Next(context.Background())
		if err != nil {
			return
		}
		l.handle(ev)
	}
}

func (l *lifecycle) handle(ev call.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	if ev.Missed > 0 {
		l.log.Error("lifecycle fell behind: live call events lost", "missed", ev.Missed)
		l.metrics.Missed(ev.Missed)
	}
	l.record(ctx, ev)
	log := l.log.With("call", ev.Call)
	switch ev.Kind {
	case call.EventJoined:
		l.metrics.Joined()
		if err := l.store.Joined(ctx, ev.Call, ev.Member.ID, ev.Member.Name, ev.At); err != nil {
			log.Error("attendance", "err", err)
		}
		l.maybeStart(ctx, ev)
	case call.EventMoved:
		l.maybeStart(ctx, ev)
	case call.EventLeft:
		if err := l.store.Left(ctx, ev.Member.ID, ev.At); err != nil {
			log.Error("attendance", "err", err)
		}
	case call.EventClosed:
		l.metrics.Closed(ev.Why)
		delete(l.started, ev.Call)
		if ev.Booking == "" {
			return
		}
		side := ev.Member.Side
		if side == "" { // resumed after a restart, and nobody came back
			if c, err := l.booking.Call(ctx, ev.Booking); err == nil {
				side = c.InitiatingSide
			}
		}
		c, err := l.booking.System(ctx, ev.Booking, schedule.EventEnd, side)
		switch {
		case errors.Is(err, booking.ErrConflict):
			// Never started (everyone waited in the lobby and left), or
			// cancelled meanwhile: nothing to end.
			log.Info("booked call not ended", "booking", ev.Booking, "why", ev.Why, "err", err)
		case err != nil:
			log.Error("end booked call", "booking", ev.Booking, "err", err)
		default:
			log.Info("booked call ended", "booking", ev.Booking, "why", ev.Why, "duration", c.ActualEnd.Sub(c.ActualStart))
		}
	}
}

// maybeStart starts the booked call when a member is in it for the first time.
func (l *lifecycle) maybeStart(ctx context.Context, ev call.Event) {
	if ev.Booking == "" || ev.To != call.StateIn || l.started[ev.Call] {
		return
	}
	if _, err := l.booking.System(ctx, ev.Booking, schedule.EventStart, ev.Member.Side); err != nil {
		// Ended or cancelled meanwhile (End refuses the members at once).
		l.log.Warn("start booked call", "call", ev.Call, "booking", ev.Booking, "err", err)
		return
	}
	l.started[ev.Call] = true
}

// resumeLive reopens, empty, the live call of every booked call that is
// live in the store (the server stopped during it): its members may come
// back within the grace, and if nobody does it closes and the booking ends.
func resumeLive(ctx context.Context, st *store.Store, reg *call.Registry, minute time.Duration, log *slog.Logger) error {
	lines, err := st.Lines(ctx)
	if err != nil {
		return err
	}
	for _, ln := range lines {
		live, err := st.Calls(ctx, store.CallQuery{Line: ln.Name, States: []string{string(schedule.StateLive)}, Limit: 1000})
		if err != nil {
			return err
		}
		for _, c := range live {
			if reg.Resume(booking.LiveName(ln.Name, c.ID), call.Admission{Kind: c.Kind, Booking: c.ID, Languages: c.Languages,
				Opening: c.PublicOpening / time.Minute * minute}) {
				log.Info("booked call resumed after a restart", "line", ln.Name, "booking", c.ID)
			}
		}
	}
	return nil
}
